# Latency spectra for bench/compare/run (gnuplot 5.4). The script passes, with -e:
#   out='FILE.svg'  np_files='a.csv b.csv ...'  np_titles='direct nginx ...'  np_title='...'
#   np_colors='#9400d3 #009e73 ...' (one per file, so a target has one colour in both panels)
#   eth_files=...   eth_titles=...  eth_colors=...  eth_title='...'   optionally fmt='png'
# Each CSV is enginemux-load --latency-csv output (percentile,latency_us; HdrHistogram-style
# levels). x = 1/(1 - percentile/100) on a log axis, so 50, 90, 99, 99.9 are evenly spaced; the
# 100th percentile (max) falls off the axis (1/0 is undefined in gnuplot and skipped).
set encoding utf8
if (!exists("fmt")) fmt = 'svg'
if (fmt eq 'png') {
    set terminal pngcairo size 960,1040 font 'sans,11' background rgb 'white'
} else {
    set terminal svg size 960,1040 dynamic font 'sans,12' background rgb 'white'
}
set output out
set datafile separator ','
set logscale xy
set xrange [1:*]
set xtics ('0' 1, '50' 2, '75' 4, '90' 10, '99' 100, '99.9' 1000, '99.99' 10000)
set xlabel 'percentile'
set ylabel 'latency (µs, log)'
set grid xtics ytics mytics
set key top left box opaque
set style data steps
set multiplot layout 2,1
if (words(np_files) > 0) {
    set title np_title
    plot for [i=1:words(np_files)] word(np_files, i) skip 1 using (1/(1-$1/100)):2 lw 2 \
        lc rgb word(np_colors, i) title word(np_titles, i)
}
if (words(eth_files) > 0) {
    set title eth_title
    plot for [i=1:words(eth_files)] word(eth_files, i) skip 1 using (1/(1-$1/100)):2 lw 2 \
        lc rgb word(eth_colors, i) title word(eth_titles, i)
}
unset multiplot
