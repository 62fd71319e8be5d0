/* montage.h: the report's Figure 11 as one image: per row a query image
 * then its top-k results, each tile framed green (relevant: shares a label
 * with the query, the paper's check mark) or red (not relevant, the cross);
 * the query's frame is grey. Written as an 8-bit RGB PNG (libpng). */
#ifndef DSAH_MONTAGE_H
#define DSAH_MONTAGE_H

#include <stdint.h>
#include <stdio.h>

#define MONTAGE_BORDER 3   /* frame width in pixels */
#define MONTAGE_GAP 4      /* space between tiles; 3 x that after the query column */

/* The figure's rows from a search (dsah-search's ids [lims[nq]] and lims
 * [nq+1]): `rows` queries of the nq drawn with seed (the same seed shows the
 * same queries for every method), in query order; row r: query image
 * qimg[r] = queries[q], its results res[r * k + t] = ids[lims[q] + t] for t
 * < nres[r] (at most k), rel[r * k + t] = 1 when the result (an image, -1:
 * none) shares a label with the query in labels u1 [N, ncols]. Returns the
 * relevant results; *shown: the results shown. */
int64_t montage_rows(int64_t *qimg, int64_t *res, int *nres, uint8_t *rel, int64_t *shown, int rows, int k, uint64_t seed,
                     int64_t nq, const int64_t *queries, const int64_t *ids, const int64_t *lims, const uint8_t *labels,
                     int64_t ncols);

/* Canvas size of rows x (1 + k) tiles of h x w images scaled by `scale`. */
void montage_size(int64_t *cw, int64_t *ch, int rows, int k, int h, int w, int scale);

/* Draw into rgb [ch, cw, 3] (overwritten; montage_size): images u1
 * [N, h, w, c] (c = 1 or 3); row r shows image query[r], then
 * result[r * k + t] (t < nres[r]; -1 = none); rel[r * k + t]: 1 relevant. */
void montage_draw(uint8_t *rgb, const uint8_t *images, int h, int w, int c, int scale, int rows, int k,
                  const int64_t *query, const int64_t *result, const int *nres, const uint8_t *rel);

/* Write rgb [h, w, 3] as PNG to fp; returns 0, or -1 (libpng error). */
int png_write_rgb(FILE *fp, const uint8_t *rgb, int64_t w, int64_t h);

#endif
