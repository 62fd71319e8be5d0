/* baseline_agh.c: see baseline_agh.h. */
#include "hash/baseline_agh.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/bits.h"
#include "util/rng.h"
#include "util/util.h"

#define AGH_CHUNK 2048

void agh_model_alloc(agh_model *m, int64_t dim, int bits, int layers, int anchors, int nearest) {
    CHECK((layers == 1 || (layers == 2 && bits % 2 == 0)) && nearest >= 1 && nearest <= anchors);
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->bits = bits;
    m->layers = layers;
    m->anchors = anchors;
    m->nearest = nearest;
    m->r = bits / layers;
    m->anchor = xcalloc((size_t)(anchors * dim), sizeof(float));
    m->w = xcalloc((size_t)anchors * (size_t)m->r, sizeof(float));
    m->thres = xcalloc((size_t)(2 * m->r), sizeof(float));
    m->eig = xcalloc((size_t)m->r, sizeof(double));
}

void agh_model_free(agh_model *m) {
    free(m->anchor);
    free(m->w);
    free(m->thres);
    free(m->eig);
    memset(m, 0, sizeof *m);
}

static void row_sqnorms(float *out, const float *x, int64_t n, int64_t d) {
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t k = 0; k < d; k++) s += (double)x[i * d + k] * x[i * d + k];
        out[i] = (float)s;
    }
}

/* xn [n] = squared norms of the rows of x [n, d], in double */
static void row_sqnorms_d(double *xn, const float *x, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t k = 0; k < d; k++) s += (double)x[i * d + k] * x[i * d + k];
        xn[i] = s;
    }
}

/* For rows x [n, d] (xn [n] their squared norms) against centres c [m, d]
 * (cn2 [m] their squared norms): the s nearest by squared distance
 * (ascending; ties to the lower index) into idx [n, s] and dist2 [n, s]
 * (clamped at 0). Scratch g [chunk, m]. */
static void nearest_s(int32_t *idx, float *dist2, float *g, const float *x, const double *xn, int64_t n,
                      const float *c, const float *cn2, int64_t d, int m, int s) {
    for (int64_t i0 = 0; i0 < n; i0 += AGH_CHUNK) {
        int64_t cn = n - i0 < AGH_CHUNK ? n - i0 : AGH_CHUNK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cn, m, (int)d, -2.0f, x + i0 * d, (int)d, c,
                    (int)d, 0.0f, g, m);
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < cn; i++) {
            int32_t *ir = idx + (i0 + i) * s;
            float *dr = dist2 + (i0 + i) * s;
            int have = 0;
            for (int j = 0; j < m; j++) {
                float v = (float)(xn[i0 + i] + (double)g[i * m + j] + cn2[j]);
                if (v < 0.0f) v = 0.0f;
                if (have == s && !(v < dr[s - 1])) continue;
                int p = have < s ? have++ : s - 1;
                while (p > 0 && v < dr[p - 1]) { dr[p] = dr[p - 1]; ir[p] = ir[p - 1]; p--; }
                dr[p] = v;
                ir[p] = j;
            }
        }
    }
}

/* the s nearest anchors [m, d] of x [n, d]: idx, dist2 [n, s] as nearest_s */
static void nearest_anchors(int32_t *idx, float *dist2, const float *x, int64_t n, const float *anchor, int64_t d,
                            int m, int s) {
    float *cn2 = xmalloc(sizeof(float) * (size_t)m), *g = xaligned(sizeof(float) * (size_t)(AGH_CHUNK * m));
    double *xn = xmalloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    row_sqnorms(cn2, anchor, m, d);
    row_sqnorms_d(xn, x, n, d);
    nearest_s(idx, dist2, g, x, xn, n, anchor, cn2, d, m, s);
    free(cn2);
    free(g);
    free(xn);
}

static double inertia_of(const float *x, int64_t n, int64_t d, const float *c, const int32_t *assign) {
    double tot = 0;
#pragma omp parallel for reduction(+ : tot) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * d, *ci = c + (int64_t)assign[i] * d;
        double s = 0;
        for (int64_t k = 0; k < d; k++) {
            double e = (double)xi[k] - ci[k];
            s += e * e;
        }
        tot += s;
    }
    return tot;
}

void agh_kmeans(float *centres, double *inertia, const float *x, int64_t n, int64_t d, int k, int iters,
                uint64_t seed) {
    CHECK(k >= 1 && k <= n);
    int64_t *perm = xmalloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    rng r;
    rng_seed(&r, seed ^ rng_hash64(AGH_PURPOSE_KMEANS));
    for (int j = 0; j < k; j++) { /* partial Fisher-Yates: k distinct rows */
        int64_t t = j + (int64_t)rng_below(&r, (uint64_t)(n - j)), tmp = perm[j];
        perm[j] = perm[t];
        perm[t] = tmp;
        memcpy(centres + (int64_t)j * d, x + perm[j] * d, sizeof(float) * (size_t)d);
    }
    free(perm);
    int32_t *assign = xmalloc(sizeof(int32_t) * (size_t)n);
    float *d2 = xmalloc(sizeof(float) * (size_t)n), *g = xaligned(sizeof(float) * (size_t)(AGH_CHUNK * k));
    float *cn2 = xmalloc(sizeof(float) * (size_t)k);
    double *xn = xmalloc(sizeof(double) * (size_t)n);
    row_sqnorms_d(xn, x, n, d); /* once: the rows do not move */
    double *sum = xmalloc(sizeof(double) * (size_t)(k * d));
    int64_t *count = xmalloc(sizeof(int64_t) * (size_t)k);
    for (int t = 0;; t++) {
        if (t == iters && !inertia) break; /* the last assignment only serves the inertia */
        row_sqnorms(cn2, centres, k, d);
        nearest_s(assign, d2, g, x, xn, n, centres, cn2, d, k, 1);
        if (inertia) inertia[t] = inertia_of(x, n, d, centres, assign);
        if (t == iters) break;
        memset(sum, 0, sizeof(double) * (size_t)(k * d));
        memset(count, 0, sizeof(int64_t) * (size_t)k);
        for (int64_t i = 0; i < n; i++) {
            double *sr = sum + (int64_t)assign[i] * d;
            const float *xi = x + i * d;
            for (int64_t q = 0; q < d; q++) sr[q] += xi[q];
            count[assign[i]]++;
        }
        for (int j = 0; j < k; j++)
            if (count[j]) /* an empty cluster keeps its centre */
                for (int64_t q = 0; q < d; q++) centres[(int64_t)j * d + q] = (float)(sum[(int64_t)j * d + q] / count[j]);
    }
    free(assign);
    free(d2);
    free(g);
    free(cn2);
    free(xn);
    free(sum);
    free(count);
}

/* val [n, s] = exp(-D^2 / sigma^2) of dist2 [n, s] (ascending), normalised per row */
static void kernel_weights(float *val, const float *d2, int64_t n, int s, float sigma) {
    for (int64_t i = 0; i < n; i++) {
        /* shifting by the row's smallest D^2 leaves the normalised weights
         * unchanged and keeps the largest term at 1 */
        double t = (double)sigma * sigma, tot = 0, w[s];
        for (int q = 0; q < s; q++) tot += w[q] = exp(-((double)d2[i * s + q] - d2[i * s]) / t);
        for (int q = 0; q < s; q++) val[i * s + q] = (float)(w[q] / tot);
    }
}

/* sigma of the authors' code: the mean distance to the s-th nearest anchor */
static double mean_dist_s(const float *d2, int64_t n, int s) {
    double a = 0;
    for (int64_t i = 0; i < n; i++) a += sqrtf(d2[i * s + s - 1]);
    return a / (double)n;
}

void agh_anchor_weights(int32_t *idx, float *val, float *dist_s, const float *x, int64_t n, const float *anchor,
                        int64_t d, int m, int s, float sigma) {
    float *d2 = xmalloc(sizeof(float) * (size_t)(n * s > 0 ? n * s : 1));
    nearest_anchors(idx, d2, x, n, anchor, d, m, s);
    if (dist_s)
        for (int64_t i = 0; i < n; i++) dist_s[i] = sqrtf(d2[i * s + s - 1]);
    if (sigma > 0.0f) kernel_weights(val, d2, n, s, sigma);
    free(d2);
}

/* out [n] = A v = Z Lambda^-1 Z^T v for the sparse Z (idx, val [n, s]); tmp [m] */
static void anchor_graph_apply(double *out, double *tmp, const double *v, const int32_t *idx, const float *val,
                               const double *lam, int64_t n, int m, int s) {
    memset(tmp, 0, sizeof(double) * (size_t)m);
    for (int64_t i = 0; i < n; i++)
        for (int q = 0; q < s; q++) tmp[idx[i * s + q]] += val[i * s + q] * v[i];
    for (int j = 0; j < m; j++) tmp[j] = lam[j] > 0 ? tmp[j] / lam[j] : 0.0;
    for (int64_t i = 0; i < n; i++) {
        double a = 0;
        for (int q = 0; q < s; q++) a += val[i * s + q] * tmp[idx[i * s + q]];
        out[i] = a;
    }
}

/* y [n, r] = Z W for sparse rows */
static void embed_sparse(float *y, const int32_t *idx, const float *val, const float *w, int64_t n, int s, int r) {
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < r; k++) {
            double a = 0;
            for (int q = 0; q < s; q++) a += (double)val[i * s + q] * w[(int64_t)idx[i * s + q] * r + k];
            y[i * r + k] = (float)a;
        }
}

/* 2-AGH thresholds of one eigenfunction y [n]: f = |y| - b+ 1+ + b- 1-,
 * 1^T f = 0 gives b- = (n+ b+ - G) / n- with G = sum |y|, so
 * f = f0 + b+ e with f0 = |y| - (G / n-) 1-, e = -1+ + (n+ / n-) 1-, and
 * f^T (I - A) f is minimised at b+ = -e^T (I - A) f0 / e^T (I - A) e. */
static void second_layer_thresholds(float *bplus, float *bminus, const float *y, int64_t n, const int32_t *idx,
                                    const float *val, const double *lam, int m, int s, int r, int k) {
    double *f0 = xmalloc(sizeof(double) * (size_t)n), *e = xmalloc(sizeof(double) * (size_t)n);
    double *af = xmalloc(sizeof(double) * (size_t)n), *ae = xmalloc(sizeof(double) * (size_t)n);
    double *tmp = xmalloc(sizeof(double) * (size_t)m);
    int64_t np = 0;
    double G = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = y[i * r + k];
        np += v >= 0;
        G += fabs(v);
    }
    int64_t nm = n - np;
    *bplus = *bminus = 0.0f;
    if (np > 0 && nm > 0) {
        for (int64_t i = 0; i < n; i++) {
            double v = y[i * r + k];
            f0[i] = v >= 0 ? v : -v - G / (double)nm;
            e[i] = v >= 0 ? -1.0 : (double)np / (double)nm;
        }
        anchor_graph_apply(af, tmp, f0, idx, val, lam, n, m, s);
        anchor_graph_apply(ae, tmp, e, idx, val, lam, n, m, s);
        double num = 0, den = 0;
        for (int64_t i = 0; i < n; i++) {
            num += e[i] * (f0[i] - af[i]);
            den += e[i] * (e[i] - ae[i]);
        }
        if (den > 0) {
            double bp = -num / den;
            *bplus = (float)bp;
            *bminus = (float)((np * bp - G) / (double)nm);
        }
    }
    free(f0);
    free(e);
    free(af);
    free(ae);
    free(tmp);
}

int agh_fit_anchors(agh_model *m, const float *x, int64_t n, const float *anchor, float sigma, char *err,
                    int errlen) {
    const int64_t d = m->dim;
    const int M = m->anchors, s = m->nearest, r = m->r;
    CHECK(n >= 2 && M < n);
    if (anchor != m->anchor) memcpy(m->anchor, anchor, sizeof(float) * (size_t)(M * d));
    int32_t *idx = xmalloc(sizeof(int32_t) * (size_t)(n * s));
    float *val = xmalloc(sizeof(float) * (size_t)(n * s)), *d2 = xmalloc(sizeof(float) * (size_t)(n * s));
    double *lam = xcalloc((size_t)M, sizeof(double)), *mm = xcalloc((size_t)M * (size_t)M, sizeof(double));
    double *ev = xmalloc(sizeof(double) * (size_t)M);
    float *y = NULL;
    int rc = -1;
    /* one nearest-anchor pass serves both sigma and Z */
    nearest_anchors(idx, d2, x, n, m->anchor, d, M, s);
    if (sigma <= 0.0f) {
        sigma = (float)mean_dist_s(d2, n, s);
        if (!(sigma > 0.0f)) {
            snprintf(err, (size_t)errlen, "anchor graph: every training row coincides with its anchors (sigma = 0)");
            goto out;
        }
    }
    m->sigma = sigma;
    kernel_weights(val, d2, n, s, sigma);
    /* Lambda = Z^T 1; Z^T Z accumulated over the s x s blocks of each row */
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < s; a++) {
            int ja = idx[i * s + a];
            lam[ja] += val[i * s + a];
            for (int b = 0; b < s; b++) mm[(int64_t)ja * M + idx[i * s + b]] += (double)val[i * s + a] * val[i * s + b];
        }
    /* normalise, then deflate the trivial eigenvector v0 = Lambda^1/2 1 / sqrt(n)
     * (M v0 = v0 because the rows of Z sum to 1): in a graph with several
     * components eigenvalue 1 has more eigenvectors, which carry the clusters
     * and are kept */
    double ltot = 0;
    for (int a = 0; a < M; a++) ltot += lam[a];
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++) {
            double la = lam[a], lb = lam[b];
            mm[(int64_t)a * M + b] = la > 0 && lb > 0 ? mm[(int64_t)a * M + b] / sqrt(la * lb) - sqrt(la * lb) / ltot : 0.0;
        }
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', M, mm, M, ev);
    if (info != 0) {
        snprintf(err, (size_t)errlen, "anchor graph eigen-decomposition failed (LAPACKE_dsyevd info %d)", (int)info);
        goto out;
    }
    /* ascending in ev: walk down, keeping s_k > 1e-9 */
    int kept = 0;
    for (int j = M - 1; j >= 0 && kept < r; j--) {
        if (!(ev[j] > 1e-9)) continue;
        m->eig[kept] = ev[j];
        double sc = sqrt((double)n / ev[j]);
        for (int a = 0; a < M; a++)
            m->w[(int64_t)a * r + kept] = lam[a] > 0 ? (float)(sc * mm[(int64_t)a * M + j] / sqrt(lam[a])) : 0.0f;
        kept++;
    }
    if (kept < r) {
        snprintf(err, (size_t)errlen,
                 "anchor graph has only %d non-trivial eigenvectors (eigenvalue > 1e-9) of %d needed: "
                 "use fewer bits or more anchors",
                 kept, r);
        goto out;
    }
    if (m->layers == 2) {
        y = xmalloc(sizeof(float) * (size_t)n * (size_t)r);
        embed_sparse(y, idx, val, m->w, n, s, r);
        for (int k = 0; k < r; k++)
            second_layer_thresholds(&m->thres[k], &m->thres[r + k], y, n, idx, val, lam, M, s, r, k);
    }
    rc = 0;
out:
    free(idx);
    free(val);
    free(d2);
    free(lam);
    free(mm);
    free(ev);
    free(y);
    return rc;
}

int agh_fit(agh_model *m, const float *x, int64_t n, int kmeans_iters, float sigma, uint64_t seed, char *err,
            int errlen) {
    agh_kmeans(m->anchor, NULL, x, n, m->dim, m->anchors, kmeans_iters, seed);
    return agh_fit_anchors(m, x, n, m->anchor, sigma, err, errlen);
}

/* y [n, r] (and codes when not NULL) by chunks */
static void agh_apply(uint8_t *codes, float *y, const agh_model *m, const float *x, int64_t n) {
    const int64_t d = m->dim, rb = bits_row_bytes(m->bits);
    const int s = m->nearest, r = m->r, b = m->bits;
    int64_t chunk = AGH_CHUNK;
    int32_t *idx = xmalloc(sizeof(int32_t) * (size_t)(chunk * s));
    float *val = xmalloc(sizeof(float) * (size_t)(chunk * s)), *yc = xmalloc(sizeof(float) * (size_t)(chunk * r));
    float *z = xmalloc(sizeof(float) * (size_t)(chunk * b));
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int64_t cn = n - i0 < chunk ? n - i0 : chunk;
        agh_anchor_weights(idx, val, NULL, x + i0 * d, cn, m->anchor, d, m->anchors, s, m->sigma);
        float *yr = y ? y + i0 * r : yc;
        embed_sparse(yr, idx, val, m->w, cn, s, r);
        if (!codes) continue;
        for (int64_t i = 0; i < cn; i++)
            for (int k = 0; k < r; k++) {
                float v = yr[i * r + k];
                z[i * b + k] = v;
                if (m->layers == 2) z[i * b + r + k] = v >= 0.0f ? v - m->thres[k] : -v + m->thres[r + k];
            }
        bits_pack_signs(codes + i0 * rb, z, cn, b);
    }
    free(idx);
    free(val);
    free(yc);
    free(z);
}

void agh_embed(float *y, const agh_model *m, const float *x, int64_t n) { agh_apply(NULL, y, m, x, n); }

void agh_encode(uint8_t *codes, const agh_model *m, const float *x, int64_t n) { agh_apply(codes, NULL, m, x, n); }
