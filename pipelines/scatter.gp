# scatter.gp: a t-SNE embedding coloured by class (the report's Figure 10).
# Variables: datafile (dsah-tsne's tsne.tsv: x, y, class), outfile, term
# (png|svg), title.
if (term eq 'png') { set terminal pngcairo size 640,600 font ',11' } else { set terminal svg size 640,600 font ',11' }
set output outfile
set termoption noenhanced
set title title
set datafile separator '\t'
set key autotitle columnhead
unset key
set xtics format ''
set ytics format ''
set cblabel 'class'
set palette defined (0 '#1f77b4', 1 '#ff7f0e', 2 '#2ca02c', 3 '#d62728', 4 '#9467bd', 5 '#8c564b', 6 '#e377c2', 7 '#7f7f7f', 8 '#bcbd22', 9 '#17becf')
plot datafile using 1:2:3 with points pt 7 ps 0.5 lc palette
