/* ingest_images.h: image-file dataset sources for dsah-ingest (FLICKR25K,
 * NUS-WIDE, any folder or archive of JPEG/PNG images), on the loader API of
 * ingest.h: the images stream into images_path (u1 [N,H,W,3]), the labels
 * come back multi-hot in r.
 *
 * A source is a directory or an archive read through libarchive (zip, tar,
 * tar.gz, tar.bz2, tar.xz, 7z, ...). A directory's symbolic links are
 * followed, each directory walked once: a link to a directory already walked
 * (a cycle, or a second link to it), a dangling link or a link loop is
 * skipped by name and counted (warnings). Archives are read in two passes:
 *   1. list: every regular member's name (and the small text members a loader
 *      needs, read into memory); seekable zips skip member data by seeking;
 *   2. stream: members in archive order go into a chunk buffer (at most
 *      INGEST_CHUNK images or INGEST_CHUNK_BYTES of compressed bytes); the
 *      chunk is decoded and resized on all cores (OpenMP, dynamic schedule),
 *      then written in one thread, in chunk order, each image at its own
 *      output row (pwrite at header + row * H*W*3) of the atomic temporary.
 *      Three chunks are in flight: while the threads decode chunk c, one of
 *      them writes chunk c-1 and reads chunk c+1, then joins the decoding.
 *      Memory: 3 chunks of (compressed bytes + resized images) plus one
 *      full-size decode buffer per thread (~120 MB at 224x224).
 * Placing rows by position instead of reordering through a window keeps the
 * memory bound independent of how the archive order relates to the output
 * order (mirflickr25k.zip is not in image-number order), at one read of the
 * archive. For a directory the output order is the read order, so the writes
 * are sequential. Images that fail to decode leave a hole that is closed at
 * the end by moving the later rows down (one sequential copy, only when
 * something was skipped); the header then carries the final N.
 *
 * Image order: FLICKR25K by image number; NUS-WIDE in Imagelist.txt order;
 * folders in sorted path order (ImageFolder), or the label list's order.
 * Corrupt or unreadable images, and listed images absent from the source,
 * are reported by name (warning) and counted in r->skipped, or fail the
 * stage with o->strict. Images without any label are dropped before decoding
 * and counted in r->unlabeled (and r->skipped). */
#ifndef DSAH_INGEST_IMAGES_H
#define DSAH_INGEST_IMAGES_H

#include <stddef.h>
#include <stdint.h>

#include "data/ingest.h"

#define INGEST_CHUNK 256
#define INGEST_CHUNK_BYTES ((size_t)128 << 20)

/* mirflickr25k.zip (or its extracted folder) at o->path, holding
 * mirflickr/im<k>.jpg; o->annotations: mirflickr25k_annotations_v080.zip (or
 * folder) holding <concept>.txt files of 1-based image ids. The labels are
 * the plain concepts (<concept>_r1.txt "relevant" subsets and README.txt are
 * not labels), in name order. */
void ingest_flickr25k(ingest_result *r, const ingest_opts *o, const char *images_path);

/* NUS-WIDE: o->annotations (default o->path), a folder or archive holding
 * ImageList/Imagelist.txt and Groundtruth/AllLabels/Labels_<concept>.txt
 * (one 0/1 per line, as many lines as Imagelist.txt); the images in o->path,
 * a folder or archive. Imagelist.txt paths use backslashes
 * ("C:\ImageData\Flickr\actor\0001_2124494179.jpg" or
 * "actor\0001_2124494179.jpg"): backslashes become '/', anything up to and
 * including a "Flickr/" component is dropped, and the image root inside
 * o->path is found as the prefix under which the first listed images exist
 * (e.g. "Flickr/" in the distributed archive, "" in an extracted Flickr
 * folder). Labels: the `top` most frequent concepts (21 in the paper; ties
 * by name), in name order; images with none of them are dropped. */
void ingest_nuswide(ingest_result *r, const ingest_opts *o, const char *images_path, int top);

/* Any folder, .zip or .tar(.gz) of JPEG/PNG images (.jpg .jpeg .png, any
 * case; hidden files and __MACOSX/ ignored).
 * Without o->label_list: ImageFolder convention, ROOT/<class>/.../<image>,
 * classes = sorted subfolder names, one label per image, sorted path order.
 * A single top-level folder that wraps every class folder (an archive of
 * "mydata/") is taken as ROOT.
 * With o->label_list (a text file): lines "relative/path label label ...",
 * whitespace-separated (no spaces in paths), '#' lines are comments; classes
 * = sorted distinct label names; image order = the list's order; the paths
 * are relative to the folder/archive, or to the root found as for NUS-WIDE. */
void ingest_folder(ingest_result *r, const ingest_opts *o, const char *images_path);

/* The whole regular file (util.h open_input: a FIFO or device is refused)
 * into *data (malloc'ed) and *len, at most dsah_limit.member_bytes: 0, or -1
 * with a message naming the file in err. */
int read_file(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

#endif
