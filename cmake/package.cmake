# package.cmake - install rules and the Debian package (cpack -G DEB).
#
# Layout: /usr/bin/mdtboard, /usr/share/mdtboard/web, the systemd units in
# /lib/systemd/system, /etc/mdtboard/mdtboard.env (a conffile), the man page,
# the Debian doc files and the nginx site as an example. Library
# dependencies come from dpkg-shlibdeps. scripts/package.sh builds it; docs/deploy.md describes it.
set(MDT_DEPLOY ${CMAKE_SOURCE_DIR}/scripts/deploy)
set(MDT_PKG_GEN ${CMAKE_BINARY_DIR}/package)
file(MAKE_DIRECTORY ${MDT_PKG_GEN})

# Debian wants the changelog and man page gzipped with -9n (reproducible).
foreach(pair "debian/changelog:changelog.Debian.gz" "debian/mdtboard.1:mdtboard.1.gz")
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 src)
  list(GET pair 1 dst)
  execute_process(COMMAND gzip -9nc INPUT_FILE ${MDT_DEPLOY}/${src}
                  OUTPUT_FILE ${MDT_PKG_GEN}/${dst} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${src} failed")
  endif()
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${MDT_DEPLOY}/debian/changelog ${MDT_DEPLOY}/debian/mdtboard.1)

install(TARGETS mdtboard RUNTIME DESTINATION bin)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/ DESTINATION share/mdtboard/web
        FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                              GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
install(FILES ${MDT_DEPLOY}/systemd/mdtboard.service
              ${MDT_DEPLOY}/systemd/mdtboard-migrate.service
        DESTINATION /lib/systemd/system)
install(FILES ${MDT_DEPLOY}/mdtboard.env DESTINATION /etc/mdtboard)
install(FILES ${MDT_PKG_GEN}/mdtboard.1.gz DESTINATION share/man/man1)
install(FILES ${MDT_PKG_GEN}/changelog.Debian.gz ${MDT_DEPLOY}/debian/copyright
              ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION share/doc/mdtboard)
install(FILES ${MDT_DEPLOY}/nginx/mdtboard.conf DESTINATION share/doc/mdtboard/examples)
install(FILES ${MDT_DEPLOY}/debian/lintian-overrides DESTINATION share/lintian/overrides
        RENAME mdtboard)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mdtboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_PACKAGE_CONTACT "MDT Board <dev@mdtboard.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx, postgresql")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "case-conferencing server for multidisciplinary teams")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "MDT Board is a live, shared case board for the multidisciplinary teams\n\
that respond to child trafficking and abuse. This package holds the\n\
server, its web application and systemd units for serving and for\n\
schema migrations; it needs a PostgreSQL database.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${MDT_DEPLOY}/debian/postinst ${MDT_DEPLOY}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
