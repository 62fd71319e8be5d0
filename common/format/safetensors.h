/* safetensors.h: safetensors files (8-byte little-endian header length, JSON
 * header, raw little-endian tensor bytes), read by mmap and written
 * atomically.
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets":
 * [begin, end]} relative to the end of the header; "__metadata__" maps
 * strings to strings (dsah stores the architecture there). Readers validate
 * everything: header length within the file, JSON well formed, offsets
 * in range, non-overlapping and matching dtype×shape. */
#ifndef DSAH_SAFETENSORS_H
#define DSAH_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32 = 0, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_U8, ST_NTYPES } st_dtype;

#define ST_MAXDIM 8

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[ST_MAXDIM];
    int64_t count;
    const void *data;     /* into the mapping */
    size_t nbytes;
} st_tensor;

typedef struct st_file {
    char *path;
    int n;
    st_tensor *t;
    int nmeta;
    char **meta_key, **meta_val;
    void *map;
    size_t maplen;
} st_file;

/* Open and validate; dies naming the file and the problem. */
void st_open(st_file *f, const char *path);
/* Same, returning -1 with the message in err instead of dying. */
int st_try_open(st_file *f, const char *path, char *err, size_t errlen);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* __metadata__ value for key, or NULL. */
const char *st_meta(const st_file *f, const char *key);
/* Copy a tensor into out as float32 (converting F16/BF16/F64), checking that
 * its element count is `count`; dies naming file, tensor, expected and found
 * shapes otherwise. */
void st_read_f32(float *out, const st_file *f, const st_tensor *t, int64_t count);

/* Same check against a full expected shape (ndim, shape): the element counts
 * must agree (the layouts may differ, e.g. timm's conv-shaped fc weights);
 * the error names both shapes. */
void st_read_f32_as(float *out, const st_file *f, const st_tensor *t, int ndim, const int64_t *shape);

/* Name as safetensors spells it ("F32", "F16", "BF16", ...) and bytes per
 * element. */
const char *st_dtype_name(st_dtype d);
size_t st_itemsize(st_dtype d);

/* Writer: tensors are F32; written in the order added. */
typedef struct st_writer st_writer;
st_writer *st_writer_begin(const char *path);
/* data is copied only at commit time: it must stay valid until then. */
void st_writer_add(st_writer *w, const char *name, int ndim, const int64_t *shape, const float *data);
void st_writer_meta(st_writer *w, const char *key, const char *value);
void st_writer_commit(st_writer *w);   /* atomic: tmp + fsync + rename */

/* VGG-19 tensor names: timm's vgg19 names (pre_logits.fc1.*, pre_logits.fc2.*,
 * head.fc.*; fc weights conv-shaped [4096,512,7,7] / [4096,4096,1,1]) mapped
 * to torchvision's (classifier.0.*, classifier.3.*, classifier.6.*; 2-D fc
 * weights). Writes the canonical (torchvision) name into buf and returns buf;
 * names already canonical are copied unchanged. */
const char *vgg_canonical_name(const char *name, char *buf, size_t n);
/* The tensor whose canonical VGG name (vgg_canonical_name) is `canonical`,
 * whichever naming the file uses, or NULL. */
const st_tensor *st_find_vgg(const st_file *f, const char *canonical);

#endif
