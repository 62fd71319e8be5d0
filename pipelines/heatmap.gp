# heatmap.gp: gamma x tau heatmap of one metric (the paper's Figures 8, 9).
# Variables: datafile (matrix with a header row of gamma values and a first
# column of tau values), outfile, term (png|svg), metric, bits.
if (term eq 'png') { set terminal pngcairo size 800,640 font ',11' } else { set terminal svg size 800,640 font ',11' }
set output outfile
set title sprintf('%s at %s bits', metric, bits)
set xlabel 'gamma'
set ylabel 'tau'
set cblabel metric
set palette rgb 33,13,10
set tics out
set datafile missing 'NaN'
plot datafile matrix rowheaders columnheaders using 1:2:3 with image notitle, \
     '' matrix rowheaders columnheaders using 1:2:(sprintf('%.3f', $3)) with labels notitle
