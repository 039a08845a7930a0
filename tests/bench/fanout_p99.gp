# fanout_p99.gp - delivery p99 (and p50) against subscribers of one case,
# from the summary lines of scripts/bench fanout-c / fanout-10k (issue 17).
# scripts/bench plot calls it:
#   gnuplot -e "datas='A.dat B.dat'; workers='1 2'; out='SVG'" fanout_p99.gp
# Each data file: one line per subscriber count, "subscribers p50_ms p99_ms
# target_ms", for the server run as the matching number of worker processes
# (MDT_WORKERS).
set terminal svg size 760,460 dynamic noenhanced font "DejaVu Sans,12"
set output out
set title "MDT Board live fan-out: delivery latency against subscribers (mdt_load, open loop)"
set xlabel "subscribers of one case"
set ylabel "delivery latency (ms)"
set logscale xy
set grid
set key top left
set xrange [70:14000]
set xtics ("100" 100, "1,000" 1000, "3,000" 3000, "10,000" 10000)
n = words(datas)
plot for [i=1:n] word(datas, i) using 1:3 with linespoints lw 2 pt 7 \
         title sprintf("p99, %s worker%s", word(workers, i), word(workers, i) eq "1" ? "" : "s"), \
     for [i=1:n] word(datas, i) using 1:2 with linespoints dt 3 lw 1 pt 5 \
         title sprintf("p50, %s worker%s", word(workers, i), word(workers, i) eq "1" ? "" : "s"), \
     word(datas, 1) using 1:4 with linespoints dt 2 lw 2 pt 2 lc rgb "#c00000" title "issue 17 target for p99"
