# lines.gp: one or more series against a first column, for the report's
# Figures 4, 6, 7, 8 and 9. The data file is whitespace-separated with a
# header row: the x column, then one column per series (NaN = missing).
# Variables: datafile, outfile, term (png|svg), title, xlabel, ylabel;
# optional: categorical = 1 (x values as evenly spaced labels, e.g. lambda
# values with 0 among them), nseries (columns after the first).
if (term eq 'png') { set terminal pngcairo size 720,480 font ',11' } else { set terminal svg size 720,480 font ',11' }
set output outfile
set termoption noenhanced
set title title
set xlabel xlabel
set ylabel ylabel
set grid
set key outside right top
set datafile missing 'NaN'
if (!exists('categorical')) categorical = 0
if (!exists('nseries')) nseries = 1
set offsets 0.2, 0.2, 0, 0
if (categorical) {
  plot for [i=2:nseries+1] datafile using 0:i:xtic(1) with linespoints lw 2 pt 7 title columnhead(i)
} else {
  plot for [i=2:nseries+1] datafile using 1:i with linespoints lw 2 pt 7 title columnhead(i)
}
