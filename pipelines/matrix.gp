# matrix.gp: a B x B matrix as a heatmap (the report's Figure 5: a batch's
# s_ij or a_ij, rows and columns ordered by class). Variables: datafile
# (dsah-pairs' s.dat / a.dat), outfile, term (png|svg), title, cblabel.
if (term eq 'png') { set terminal pngcairo size 560,500 font ',11' } else { set terminal svg size 560,500 font ',11' }
set output outfile
set termoption noenhanced
set title title
set cblabel cblabel
set palette rgb 33,13,10
set xlabel 'j (batch item, by class)'
set ylabel 'i'
set autoscale xfix
set autoscale yfix
set yrange [] reverse
set size ratio -1
plot datafile matrix with image notitle
