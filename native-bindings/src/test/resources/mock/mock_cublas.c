/*
 * A stand-in for libcublas for the tests of the CUDA backend on a machine without a GPU: the
 * few functions the engine binds, computing GEMMs on the host exactly as the BLAS standard
 * defines them (column-major, op(A) is A or its transpose). Prototypes follow cublas_api.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OK 0
#define NOT_INITIALIZED 1
#define INVALID_VALUE 7

struct handle { void *stream; int math; };

int cublasCreate_v2(struct handle **h) {
    *h = calloc(1, sizeof **h);
    return *h ? OK : NOT_INITIALIZED;
}

int cublasDestroy_v2(struct handle *h) { free(h); return OK; }
int cublasSetStream_v2(struct handle *h, void *stream) { h->stream = stream; return OK; }

int cublasSetMathMode(struct handle *h, int mode) {
    if (mode != 0 && mode != 2 && mode != 3) return INVALID_VALUE;
    h->math = mode;
    return OK;
}

int cublasGetProperty(int type, int *value) {
    static const int version[] = {12, 9, 1};
    if (type < 0 || type > 2) return INVALID_VALUE;
    *value = version[type];
    return OK;
}

const char *cublasGetStatusName(int status) {
    return status == INVALID_VALUE ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasGetStatusString(int status) {
    return status == INVALID_VALUE ? "an invalid value was used as an argument" : "unknown";
}

static double load(const void *base, int type, long long index) {
    switch (type) {
        case 0: return ((const float *) base)[index];
        case 2: return (double) ((const _Float16 *) base)[index];
        case 14: {
            uint32_t bits = (uint32_t) ((const uint16_t *) base)[index] << 16;
            float f;
            memcpy(&f, &bits, 4);
            return f;
        }
        default: return 0;
    }
}

static int gemm(int ta, int tb, int m, int n, int k, float alpha, const void *a, int a_type,
                int lda, long long stride_a, const void *b, int b_type, int ldb,
                long long stride_b, float beta, float *c, int ldc, long long stride_c,
                int batch) {
    if (lda < (ta == 0 ? m : k) || ldb < (tb == 0 ? k : n) || ldc < m || batch < 1) {
        return INVALID_VALUE;
    }
    int a_size = a_type == 0 ? 4 : 2;
    int b_size = b_type == 0 ? 4 : 2;
    for (int q = 0; q < batch; q++) {
        const char *aq = (const char *) a + q * stride_a * a_size;
        const char *bq = (const char *) b + q * stride_b * b_size;
        float *cq = c + q * stride_c;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double av = load(aq, a_type, ta == 0 ? i + (long long) p * lda
                                                        : p + (long long) i * lda);
                    double bv = load(bq, b_type, tb == 0 ? p + (long long) j * ldb
                                                        : j + (long long) p * ldb);
                    acc += av * bv;
                }
                float *out = cq + i + (long long) j * ldc;
                *out = (float) (alpha * acc + (beta == 0 ? 0 : beta * *out));
            }
    }
    return OK;
}

int cublasSgemm_v2(struct handle *h, int ta, int tb, int m, int n, int k, const float *alpha,
                   const float *a, int lda, const float *b, int ldb, const float *beta,
                   float *c, int ldc) {
    (void) h;
    return gemm(ta, tb, m, n, k, *alpha, a, 0, lda, 0, b, 0, ldb, 0, *beta, c, ldc, 0, 1);
}

int cublasGemmStridedBatchedEx(struct handle *h, int ta, int tb, int m, int n, int k,
                               const void *alpha, const void *a, int a_type, int lda,
                               long long stride_a, const void *b, int b_type, int ldb,
                               long long stride_b, const void *beta, void *c, int c_type,
                               int ldc, long long stride_c, int batch, int compute, int algo) {
    (void) h;
    (void) algo;
    /* F32 output and F32 scalars only: what the engine asks for. */
    if (c_type != 0 || (compute != 68 && compute != 69 && compute != 77)) return INVALID_VALUE;
    if (a_type != b_type || (a_type != 0 && a_type != 2 && a_type != 14)) return INVALID_VALUE;
    return gemm(ta, tb, m, n, k, *(const float *) alpha, a, a_type, lda, stride_a, b, b_type,
                ldb, stride_b, *(const float *) beta, c, ldc, stride_c, batch);
}
