/* SPDX-License-Identifier: MIT */
/* report.c -- `lelp report`: one self-contained HTML file with SVG charts. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char* COLORS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                               "#bcbd22", "#17becf"};

/* text with &, <, >, " escaped */
static void html_text(FILE* f, const char* s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void svg_bars(FILE* f, const char* title, const double* v, const char* const* names, int n, const char* xlabel,
                     const char* fmt)
{
    const int W = 380, H = 200, L = 30, B = 30;
    double mx = 0;
    for (int i = 0; i < n; i++) mx = v[i] > mx ? v[i] : mx;
    mx = mx > 0 ? mx : 1;
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\">"
               "<title>%s</title>\n", W, H + 20, title);
    fprintf(f, "<text x=\"%d\" y=\"14\" font-size=\"13\">%s</text>\n", L, title);
    double bw = (double)(W - L - 10) / (n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        double h = (H - B - 20) * v[i] / mx;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>", L + i * bw + 1,
                H - B - h, bw > 3 ? bw - 2 : bw, h, COLORS[i % 10]);
        if (n <= 32) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">", L + (i + 0.5) * bw, H - B + 12);
            if (names) fputs(names[i], f);
            else fprintf(f, "%d", i);
            fprintf(f, "</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\">", L + (i + 0.5) * bw,
                    H - B - h - 3);
            fprintf(f, fmt, v[i]);
            fprintf(f, "</text>");
        }
        fputc('\n', f);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>", L, H - B, W - 10, H - B);
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text></svg></figure>\n",
            (W + L) / 2, H + 10, xlabel);
}

int cmd_report(const opts* o)
{
    if (!o->model || !o->embeddings || !o->labels || !o->out)
        return die(EXIT_USAGE, "report: MODEL, --embeddings, --labels and -o are required (see lelp report --help)");
    lelp_model* m = NULL;
    int64_t d, C, S;
    int rc = load_model(o->model, &m, &d, &C, &S);
    if (rc) return rc;
    npy_file H, y;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings")) || (rc = open_labels(&y, o->labels, H.rows, o->embeddings)))
        return rc;
    if (H.cols != d)
        return die(EXIT_BAD, "%s: %lld columns but the model %s has d = %lld", o->embeddings, (long long)H.cols, o->model,
                   (long long)d);
    char err[1100];
    double beta = 0;
    lelp_model_get_double(m, LELP_MODEL_BETA, &beta);
    /* pass 1, over all rows in batches: occupancy per class and subclass, and the
     * mean within-class entropy at beta x {1/4, 1/2, 1, 2, 4} */
    const int64_t N = H.rows, B = batch_rows(o, d, C * S);
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    int32_t* sub = xalloc((size_t)B, sizeof(int32_t), B);
    double* occ = xalloc((size_t)(C * S), sizeof(double), C);
    int64_t* count = xalloc((size_t)C, sizeof(int64_t), C);
    double ent[5] = {0};
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(&H, i, nb, rows, err, sizeof err) || npy_read_i32(&y, i, nb, lab, err, sizeof err))
            return die(EXIT_BAD, "%s", err);
        if (check_labels(o->labels, lab, nb, i, C)) return EXIT_BAD;
        int st = lelp_model_assign(m, rows, lab, nb, d, sub);
        for (int k = 0; k < 5 && !st && S > 1; k++) {
            double e = 0;
            st = lelp_model_mean_entropy(m, rows, lab, nb, d, beta * pow(2.0, k - 2), &e);
            ent[k] += e * (double)nb / (double)N;
        }
        if (st)
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error(), lelp_status_string(st));
        for (int64_t k = 0; k < nb; k++) occ[lab[k] * S + sub[k]] += 1.0, count[lab[k]]++;
    }
    free(rows), free(lab), free(sub);
    /* pass 2: a subsample of at most 5000 rows, evenly spaced, for the scatters:
     * each row's first two coordinates in its own class, projected in batches */
    const int64_t n = N < 5000 ? N : 5000;
    lab = xalloc((size_t)n, sizeof(int32_t), n);
    sub = xalloc((size_t)n, sizeof(int32_t), n);
    double* XY = xalloc((size_t)(2 * n), sizeof(double), n);
    const int64_t Bs = B < n ? B : (n > 0 ? n : 1);
    rows = xalloc((size_t)(Bs * d), sizeof(float), Bs);
    float* F = xalloc((size_t)(Bs * C * S), sizeof(float), Bs);
    for (int64_t i0 = 0; i0 < n; i0 += Bs) {
        const int64_t nb = n - i0 < Bs ? n - i0 : Bs;
        for (int64_t i = i0; i < i0 + nb; i++) {
            int64_t r = n == N ? i : i * N / n;
            if (npy_read_f32(&H, r, 1, rows + (i - i0) * d, err, sizeof err) ||
                npy_read_i32(&y, r, 1, lab + i, err, sizeof err))
                return die(EXIT_BAD, "%s", err);
        }
        int st = lelp_model_assign(m, rows, lab + i0, nb, d, sub + i0);
        if (!st) st = lelp_model_project(m, rows, nb, d, F);
        if (st) return die(EXIT_BAD, "%s: %s (%s)", o->embeddings, lelp_last_error(), lelp_status_string(st));
        for (int64_t i = 0; i < nb; i++) {
            const int64_t k0 = lab[i0 + i] * S, k1 = k0 + (S > 1 ? 1 : 0);
            XY[2 * (i0 + i)] = F[i * C * S + k0];
            XY[2 * (i0 + i) + 1] = F[i * C * S + k1];
        }
    }
    free(rows), free(F);
    double* ratio = xalloc((size_t)(C * S), sizeof(double), C);
    lelp_model_explained_variance_ratio(m, ratio, C * S);
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    FILE* f = fopen(tmp, "w");
    if (!f) return die(EXIT_BAD, "%s: cannot create (%s)", o->out, strerror(errno));
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>LELP report: ");
    html_text(f, o->model);
    fprintf(f, "</title><style>body{font-family:sans-serif;margin:2em;max-width:80em}figure{display:inline-block;"
               "margin:0.5em;vertical-align:top}section{border-top:1px solid #ccc;margin-top:1em}"
               "td,th{padding:0 0.6em;text-align:right}</style></head><body>\n<h1>LELP model report</h1>\n<p>Model <code>");
    html_text(f, o->model);
    fprintf(f, "</code>: d = %lld, C = %lld, S = %lld, &#946; = %.4g. Data <code>", (long long)d, (long long)C,
            (long long)S, beta);
    html_text(f, o->embeddings);
    fprintf(f, "</code> with labels <code>");
    html_text(f, o->labels);
    fprintf(f, "</code>: %lld rows (occupancy and entropy over all of them; scatters over %lld evenly spaced rows).</p>\n",
            (long long)N, (long long)n);
    /* the mean within-class entropy of softmax_s(f) at beta x {1/4 .. 4} */
    fprintf(f, "<section id=\"entropy\"><h2>Within-class entropy of the pseudo-subclass softmax</h2>\n<p>Mean entropy "
               "of softmax<sub>s</sub>(f<sub>y,s</sub>) in nats at the model's &#946; and around it; its maximum is "
               "log S = %.3f (uniform over the S pseudo-subclasses), 0 is a hard assignment.</p>\n",
            log((double)S));
    static const char* const mult[5] = {"&#946;/4", "&#946;/2", "&#946;", "2&#946;", "4&#946;"};
    svg_bars(f, "mean within-class entropy (nats)", ent, mult, 5, "subclass temperature", "%.3f");
    fprintf(f, "</section>\n");
    char title[160];
    for (int64_t c = 0; c < C; c++) {
        fprintf(f, "<section class=\"class\" id=\"class-%lld\"><h2>Class %lld</h2><p>%lld rows.</p>\n", (long long)c,
                (long long)c, (long long)count[c]);
        snprintf(title, sizeof title, "class %lld: explained-variance ratio per direction", (long long)c);
        svg_bars(f, title, ratio + c * S, NULL, (int)S, "direction (descending eigenvalue)", "%.3f");
        snprintf(title, sizeof title, "class %lld: pseudo-subclass occupancy", (long long)c);
        svg_bars(f, title, occ + c * S, NULL, (int)S, "pseudo-subclass", "%.0f");
        /* scatter of the first two (rotated) coordinates of this class */
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        int64_t shown = 0;
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c) {
                xmin = fmin(xmin, XY[2 * i]), xmax = fmax(xmax, XY[2 * i]);
                ymin = fmin(ymin, XY[2 * i + 1]), ymax = fmax(ymax, XY[2 * i + 1]);
                shown++;
            }
        double sx = xmax > xmin ? 340.0 / (xmax - xmin) : 1, sy = ymax > ymin ? 170.0 / (ymax - ymin) : 1;
        snprintf(title, sizeof title, "class %lld: coordinates 1 and 2 by pseudo-subclass (%lld points)", (long long)c,
                 (long long)shown);
        fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"380\" height=\"220\" role=\"img\">"
                   "<title>%s</title><text x=\"20\" y=\"14\" font-size=\"13\">%s</text>\n", title, title);
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>", 20 + (XY[2 * i] - xmin) * sx,
                        200 - (XY[2 * i + 1] - ymin) * sy, COLORS[sub[i] % 10]);
        fprintf(f, "\n</svg></figure></section>\n");
    }
    fprintf(f, "</body></html>\n");
    if (ferror(f) | (fclose(f) != 0)) return die(EXIT_BAD, "%s: write failed", o->out);
    if ((rc = outs_commit())) return rc;
    free(lab), free(sub), free(XY), free(ratio), free(occ), free(count);
    npy_close(&H);
    npy_close(&y);
    lelp_model_free(m);
    return 0;
}
