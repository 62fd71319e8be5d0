# curves.gp: PR curves (kind 'pr': precision against recall over Hamming
# radii) or P@N curves (kind 'pn': precision against N) of several methods,
# read from eval's pr.csv / pn.csv by column name (the paper's Figure 3).
# Variables: files, titles (space-separated, same order), kind, bits, term,
# outfile.
if (term eq 'png') { set terminal pngcairo size 800,600 font ',11' } else { set terminal svg size 800,600 font ',11' }
set output outfile
set datafile separator ','
set key autotitle columnhead
set grid
set key top right
set yrange [0:1]
if (kind eq 'pr') {
  set title sprintf('precision-recall (Hamming radius), %s bits', bits)
  set xlabel 'recall'; set ylabel 'precision'; set xrange [0:1]
  plot for [i=1:words(files)] word(files, i) using 'recall':'precision' with linespoints title word(titles, i)
} else {
  set title sprintf('precision at N, %s bits', bits)
  set xlabel 'N'; set ylabel 'precision'
  plot for [i=1:words(files)] word(files, i) using 'N':'precision' with linespoints title word(titles, i)
}
