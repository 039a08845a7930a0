# fanout_p99.gp - delivery p99 (and p50) against subscribers of one case,
# from the summary lines of scripts/bench fanout-c / fanout-10k (issue 17).
# scripts/bench plot calls it: gnuplot -e "data='DAT'; out='SVG'" fanout_p99.gp
# DAT: one line per subscriber count, "subscribers p50_ms p99_ms".
set terminal svg size 720,440 dynamic noenhanced font "DejaVu Sans,12"
set output out
set title "MDT Board live fan-out: delivery latency against subscribers (mdt_load, open loop)"
set xlabel "subscribers of one case"
set ylabel "delivery latency (ms)"
set logscale xy
set grid
set key top left
set xrange [70:14000]
set xtics ("100" 100, "1,000" 1000, "3,000" 3000, "10,000" 10000)
plot data using 1:3 with linespoints lw 2 pt 7 title "p99 (median of runs)", \
     data using 1:2 with linespoints lw 2 pt 5 title "p50 (median of runs)", \
     data using 1:4 with linespoints dt 2 lw 2 pt 2 lc rgb "#c00000" title "issue 17 target for p99"
