# Writes OUT: a C array NAME[] of {version, name, text} for every FILES
# entry, and NAME_count, including HEADER (which declares the element type
# TYPE). With VERSIONED, the names start with a zero-padded version number
# (migrations: 001_init.sql); otherwise the version is 0.
set(body "#include \"${HEADER}\"\n\nconst ${TYPE} ${NAME}[] = {\n")
string(REPLACE "," ";" FILES "${FILES}")
set(count 0)
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  set(ver 0)
  if(VERSIONED)
    string(REGEX MATCH "^[0-9]+" ver ${name})
    math(EXPR ver "${ver}")
  endif()
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "  {${ver}, \"${name}\", (const char[]){${bytes} 0}},\n")
  math(EXPR count "${count} + 1")
endforeach()
string(APPEND body "};\nconst int ${NAME}_count = ${count};\n")
file(WRITE ${OUT} "${body}")
