/* cli/ingest.c: the contract of dsah-ingest (cli/stages.h). */
#include "cli/stages.h"
#include "util/util.h"

#define A ingest_args
#define COUNT "[0, 1099511627776]"
static const opt ingest_opts[] = {
    {"source", OPT_ENUM, OPT_FIELD(A, source), .choices = "fashion-mnist|mnist|cifar10|flickr25k|nuswide|folder",
     .required = 1, .key = "dataset.source",
     .help = "fashion-mnist, mnist: IDX files (gzipped or not) in a directory;\n"
             "cifar10: the official cifar-10-binary.tar.gz, read in place;\n"
             "flickr25k: mirflickr25k.zip (or its folder) with --annotations\n"
             "mirflickr25k_annotations_v080.zip; 24 concepts, unlabeled images dropped;\n"
             "nuswide: the image folder/archive; --annotations (default: --path) holds\n"
             "ImageList/Imagelist.txt and Groundtruth/AllLabels/Labels_*.txt; the 21\n"
             "most frequent concepts;\n"
             "folder: a directory, .zip or .tar(.gz) of JPEG/PNG images in class\n"
             "subfolders, or any layout with --label-list F (\"rel/path label ...\")"},
    {"path", OPT_IN, OPT_FIELD(A, path), .arg = "P", .key = "dataset.path",
     .help = "the directory holding the source files, or the cifar10 archive itself\n"
             "(required, except for fashion-mnist: /usr/share/datasets/fashion-mnist)"},
    {"annotations", OPT_IN, OPT_FIELD(A, annotations), .arg = "P", .key = "dataset.annotations",
     .help = "annotation folder or archive (flickr25k, nuswide)"},
    {"label-list", OPT_IN, OPT_FIELD(A, label_list), .key = "dataset.label_list",
     .help = "folder source: \"rel/path label ...\" lines"},
    {"size", OPT_INT, OPT_FIELD(A, size), .range = "[1, 65536]", .key = "dataset.size",
     .help = "resize to NxN (image-file sources; IDX and cifar10 keep their size)"},
    {"query-per-class", OPT_INT, OPT_FIELD(A, query_per_class), .arg = "Q", .range = COUNT,
     .key = "dataset.query_per_class", .help = "class-balanced split: Q queries per class, the rest is the database"},
    {"train-per-class", OPT_INT, OPT_FIELD(A, train_per_class), .arg = "T", .range = COUNT,
     .key = "dataset.train_per_class", .help = "and the first T of each class's shuffled database images train"},
    {"query", OPT_INT, OPT_FIELD(A, query), .arg = "Q", .range = COUNT, .key = "dataset.query",
     .help = "random split: Q queries, the rest the database (with --train)"},
    {"train", OPT_INT, OPT_FIELD(A, train), .arg = "T", .range = COUNT, .key = "dataset.train",
     .help = "random split: T training images drawn from the database"},
    {"validation-per-class", OPT_INT, OPT_FIELD(A, validation_per_class), .arg = "V", .range = "[1, 1099511627776]",
     .key = "dataset.validation_per_class",
     .help = "a validation split for tuning: V images per class drawn from the database\n"
             "minus the training images become the queries, the database loses them, the\n"
             "training images stay the same, and the real queries are left out entirely"},
    {"validation", OPT_INT, OPT_FIELD(A, validation), .arg = "V", .range = "[1, 1099511627776]",
     .key = "dataset.validation", .help = "the same with V images at random (random split)"},
    {"seed", OPT_INT, OPT_FIELD(A, seed), .arg = "S", .range = "[0, 9223372036854775807]", .required = 1,
     .key = "dataset.seed", .help = "split seed"},
    {"strict", OPT_FLAG, OPT_FIELD(A, strict), .key = "dataset.strict",
     .help = "fail on the first corrupt image (image-file sources)"},
    OPT_THREADS(A, threads),
    {"limit", OPT_STR, 0, 0, .arg = "KEY=N", .apply = limit_set, .nostamp = 1,
     .help = "raise a limit on what the input may size (util.h): pixels (per image,\n"
             "178956970), members (per archive, 10000000), member_bytes (268435456),\n"
             "model_params; repeatable; also DSAH_LIMITS=KEY=N,... for any stage"},
    {"out", OPT_OUTDIR, OPT_FIELD(A, out), .required = 1,
     .files = "images.npy labels.npy query.npy train.npy db.npy ingest.json",
     .help = "images.npy u1 [N,H,W,C], labels.npy u1 [N,L], {query,train,db}.npy i8\n"
             "sorted, ingest.json (n, h, w, c, classes, counts per split, skipped)"},
    {0}};

const opt_cmd ingest_cmd = {
    "ingest",
    "A dataset source -> images, labels and the query/train/db split. Image sources are\n"
    "decoded by libjpeg-turbo/libpng as PIL's convert(\"RGB\") and resized by PIL's\n"
    "antialiased bilinear filter, on all cores. Give one split: --query-per-class Q\n"
    "--train-per-class T, or --query Q --train T.\n",
    ingest_opts, NULL};
