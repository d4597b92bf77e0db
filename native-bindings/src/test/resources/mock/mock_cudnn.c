/*
 * A stand-in for libcudnn.so.9 for the tests of the CUDA backend on a machine without a GPU:
 * the descriptor ("legacy") API the engine binds, with a direct host convolution
 * (cross-correlation, NCHW, groups, stride, padding, dilation) in F32, F16 or BF16 storage.
 * It offers two algorithms, a non-deterministic one with a large workspace ranked first and a
 * deterministic one with a small workspace, so the backend's choice and its workspace are
 * exercised. Prototypes follow cudnn_ops.h and cudnn_cnn.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SUCCESS 0
#define BAD_PARAM 3
#define NOT_SUPPORTED 9

struct tensor { int type, n, c, h, w; };
struct filter { int type, k, c, h, w; };
struct conv { int pad_h, pad_w, u, v, dil_h, dil_w, mode, compute, groups, math; };
typedef struct {
    int algo;
    int status;
    float time;
    size_t memory;
    int determinism;
    int math_type;
    int reserved[3];
} perf_t;

#define FAST_ALGO 6
#define DETERMINISTIC_ALGO 1

size_t cudnnGetVersion(void) { return 91000; }

const char *cudnnGetErrorString(int status) {
    switch (status) {
        case SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        default: return "CUDNN_STATUS_UNKNOWN";
    }
}

int cudnnCreate(void **handle) { *handle = malloc(1); return SUCCESS; }
int cudnnDestroy(void *handle) { free(handle); return SUCCESS; }
int cudnnSetStream(void *handle, void *stream) { (void) handle; (void) stream; return SUCCESS; }

int cudnnCreateTensorDescriptor(struct tensor **d) { *d = calloc(1, sizeof **d); return SUCCESS; }
int cudnnDestroyTensorDescriptor(struct tensor *d) { free(d); return SUCCESS; }

int cudnnSetTensor4dDescriptor(struct tensor *d, int format, int type, int n, int c, int h,
                               int w) {
    if (format != 0 || n < 1 || c < 1 || h < 1 || w < 1) return BAD_PARAM;
    *d = (struct tensor) {type, n, c, h, w};
    return SUCCESS;
}

int cudnnCreateFilterDescriptor(struct filter **d) { *d = calloc(1, sizeof **d); return SUCCESS; }
int cudnnDestroyFilterDescriptor(struct filter *d) { free(d); return SUCCESS; }

int cudnnSetFilter4dDescriptor(struct filter *d, int type, int format, int k, int c, int h,
                               int w) {
    if (format != 0 || k < 1 || c < 1 || h < 1 || w < 1) return BAD_PARAM;
    *d = (struct filter) {type, k, c, h, w};
    return SUCCESS;
}

int cudnnCreateConvolutionDescriptor(struct conv **d) {
    *d = calloc(1, sizeof **d);
    (*d)->groups = 1;
    return SUCCESS;
}

int cudnnDestroyConvolutionDescriptor(struct conv *d) { free(d); return SUCCESS; }

int cudnnSetConvolution2dDescriptor(struct conv *d, int pad_h, int pad_w, int u, int v,
                                    int dil_h, int dil_w, int mode, int compute) {
    if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h < 1 || dil_w < 1) return BAD_PARAM;
    d->pad_h = pad_h; d->pad_w = pad_w; d->u = u; d->v = v;
    d->dil_h = dil_h; d->dil_w = dil_w; d->mode = mode; d->compute = compute;
    return SUCCESS;
}

int cudnnSetConvolutionGroupCount(struct conv *d, int groups) {
    if (groups < 1) return BAD_PARAM;
    d->groups = groups;
    return SUCCESS;
}

int cudnnSetConvolutionMathType(struct conv *d, int math) { d->math = math; return SUCCESS; }

int cudnnGetConvolution2dForwardOutputDim(const struct conv *d, const struct tensor *x,
                                          const struct filter *w, int *n, int *c, int *h,
                                          int *wd) {
    if (w->c * d->groups != x->c) return BAD_PARAM;
    *n = x->n;
    *c = w->k;
    *h = (x->h + 2 * d->pad_h - d->dil_h * (w->h - 1) - 1) / d->u + 1;
    *wd = (x->w + 2 * d->pad_w - d->dil_w * (w->w - 1) - 1) / d->v + 1;
    return SUCCESS;
}

static size_t workspace_for(int algo) {
    return algo == FAST_ALGO ? (size_t) 1 << 20 : algo == DETERMINISTIC_ALGO ? 4096 : 0;
}

static int rank_algorithms(int requested, int *returned, perf_t *results) {
    if (requested < 2) return BAD_PARAM;
    memset(results, 0, 2 * sizeof(perf_t));
    results[0] = (perf_t) {FAST_ALGO, SUCCESS, 0.1f, workspace_for(FAST_ALGO), 0, 0, {0}};
    results[1] = (perf_t) {DETERMINISTIC_ALGO, SUCCESS, 0.2f, workspace_for(DETERMINISTIC_ALGO),
                           1, 0, {0}};
    *returned = 2;
    return SUCCESS;
}

int cudnnGetConvolutionForwardAlgorithm_v7(void *h, void *x, void *w, void *c, void *y,
                                           int requested, int *returned, perf_t *results) {
    (void) h; (void) x; (void) w; (void) c; (void) y;
    return rank_algorithms(requested, returned, results);
}

int cudnnFindConvolutionForwardAlgorithm(void *h, void *x, void *w, void *c, void *y,
                                         int requested, int *returned, perf_t *results) {
    (void) h; (void) x; (void) w; (void) c; (void) y;
    return rank_algorithms(requested, returned, results);
}

int cudnnGetConvolutionForwardWorkspaceSize(void *h, void *x, void *w, void *c, void *y,
                                            int algo, size_t *size) {
    (void) h; (void) x; (void) w; (void) c; (void) y;
    *size = workspace_for(algo);
    return SUCCESS;
}

static double load(const void *base, int type, long long i) {
    switch (type) {
        case 0: return ((const float *) base)[i];
        case 2: return (double) ((const _Float16 *) base)[i];
        case 9: {
            uint32_t bits = (uint32_t) ((const uint16_t *) base)[i] << 16;
            float f;
            memcpy(&f, &bits, 4);
            return f;
        }
        default: return 0;
    }
}

static void store(void *base, int type, long long i, double value) {
    float f = (float) value;
    switch (type) {
        case 0: ((float *) base)[i] = f; break;
        case 2: ((_Float16 *) base)[i] = (_Float16) f; break;
        case 9: {
            uint32_t bits;
            memcpy(&bits, &f, 4);
            bits += 0x7FFF + ((bits >> 16) & 1);
            ((uint16_t *) base)[i] = (uint16_t) (bits >> 16);
            break;
        }
    }
}

int cudnnConvolutionForward(void *handle, const float *alpha, const struct tensor *xd,
                            const void *x, const struct filter *wd, const void *w,
                            const struct conv *cd, int algo, void *workspace, size_t ws_size,
                            const float *beta, const struct tensor *yd, void *y) {
    (void) handle;
    if (cd->mode != 1 || cd->compute != 0) return NOT_SUPPORTED;
    if (xd->type != wd->type || xd->type != yd->type) return BAD_PARAM;
    if (ws_size < workspace_for(algo) || (workspace_for(algo) > 0 && workspace == NULL)) {
        return BAD_PARAM;
    }
    int n, k, oh, ow;
    if (cudnnGetConvolution2dForwardOutputDim(cd, xd, wd, &n, &k, &oh, &ow) != SUCCESS
            || n != yd->n || k != yd->c || oh != yd->h || ow != yd->w) {
        return BAD_PARAM;
    }
    int per_group_in = wd->c;
    int per_group_out = wd->k / cd->groups;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < k; o++) {
            int g = o / per_group_out;
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++) {
                    double acc = 0;
                    for (int ci = 0; ci < per_group_in; ci++)
                        for (int kh = 0; kh < wd->h; kh++)
                            for (int kw = 0; kw < wd->w; kw++) {
                                int ir = r * cd->u - cd->pad_h + kh * cd->dil_h;
                                int ic = c * cd->v - cd->pad_w + kw * cd->dil_w;
                                if (ir < 0 || ir >= xd->h || ic < 0 || ic >= xd->w) continue;
                                long long xi = (((long long) b * xd->c + g * per_group_in + ci)
                                        * xd->h + ir) * xd->w + ic;
                                long long wi = (((long long) o * wd->c + ci) * wd->h + kh)
                                        * wd->w + kw;
                                acc += load(x, xd->type, xi) * load(w, wd->type, wi);
                            }
                    long long yi = (((long long) b * k + o) * oh + r) * ow + c;
                    double prior = *beta == 0 ? 0 : *beta * load(y, yd->type, yi);
                    store(y, yd->type, yi, *alpha * acc + prior);
                }
        }
    return SUCCESS;
}

/* Bound by the engine but not called by the backend. */
int cudnnAddTensor(void *h, const void *alpha, const void *ad, const void *a, const void *beta,
                   const void *cd, void *c) {
    (void) h; (void) alpha; (void) ad; (void) a; (void) beta; (void) cd; (void) c;
    return NOT_SUPPORTED;
}
