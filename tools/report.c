/* SPDX-License-Identifier: MIT */
/* report.c -- `lelp report`: one self-contained HTML file (no scripts, no
 * external resources; XML after the doctype) with a summary table and inline
 * SVG charts.
 *
 * Layout rules, checked by tests/cli/check_cli.py from the SVG alone: no two
 * text boxes overlap (a box is estimated as 0.6 x font size per character by
 * the font size), every text stays inside its chart, every scatter has axes
 * with ticks and a legend. One colour scheme per meaning: pseudo-subclass s
 * is subclass_color(s) in every chart (occupancy bars, scatter points,
 * legends); the spectrum's directions and the entropy chart's temperatures
 * have one neutral colour each, outside that palette. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SCATTER_ROWS 5000      /* rows in all the scatters together, evenly spaced */
#define MAX_CONTINGENCY (1 << 24) /* cells of the pseudo-subclass x fine-label table */
#define CHAR_W 0.6             /* estimated glyph width / font size (sans-serif digits and lower case) */

static const char* const TAB10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const char* const DIRECTION_COLOR = "#4a5a70";   /* explained variance per direction */
static const char* const TEMPERATURE_COLOR = "#9aa7b5"; /* entropy at beta x 1/4 .. 4 */

/* pseudo-subclass s of S: Tableau 10 up to 10, evenly spaced hues beyond */
static void subclass_color(char out[32], int64_t s, int64_t S)
{
    if (S <= 10) snprintf(out, 32, "%s", TAB10[s]);
    else snprintf(out, 32, "hsl(%d,65%%,42%%)", (int)(360 * s / S));
}

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

static double text_width(const char* s, double size)
{
    return CHAR_W * size * (double)strlen(s);
}

/* ---- what the report shows, gathered in one streamed pass plus the scatter sample ---------------- */
typedef struct report_data {
    int64_t N, d, C, S, n_sample, F; /* F: fine-label count (0 without --fine-labels) */
    double beta, fraction;
    int64_t* count;   /* C rows per class */
    double* occ;      /* C*S rows per pseudo-subclass */
    double* ent_cls;  /* C sum of within-class entropies at beta, then the mean */
    double ent[5];    /* mean within-class entropy at beta x 1/4 .. 4 */
    double* ratio;    /* C*S explained-variance ratio */
    double* joint;    /* (C*S) x F rows per pseudo-subclass and fine label */
    int32_t *lab, *sub; /* the sample's labels and pseudo-subclasses */
    double* XY;       /* the sample's first two scaled projections in its own class */
} report_data;

/* entropy of softmax over the S values of one class block of f, in nats */
static double block_entropy(const float* f, int64_t S)
{
    double mx = -INFINITY, z = 0, ef = 0;
    for (int64_t s = 0; s < S; s++) mx = fmax(mx, (double)f[s]);
    for (int64_t s = 0; s < S; s++) {
        double e = exp((double)f[s] - mx);
        z += e;
        ef += e * ((double)f[s] - mx);
    }
    return log(z) - ef / z;
}

static int gather(const opts* o, const lelp_model* m, npy_file* H, npy_file* y, npy_file* fine, report_data* r)
{
    char err[1100];
    const int64_t N = r->N, d = r->d, C = r->C, S = r->S, K = C * S, B = batch_rows(o, N, d, K);
    float* rows = xalloc((size_t)(B * d), sizeof(float), B);
    float* F = xalloc((size_t)(B * K), sizeof(float), B);
    int32_t* lab = xalloc((size_t)B, sizeof(int32_t), B);
    int32_t* sub = xalloc((size_t)B, sizeof(int32_t), B);
    int32_t* fl = fine ? xalloc((size_t)B, sizeof(int32_t), B) : NULL;
    for (int64_t i = 0; i < N; i += B) {
        int64_t nb = N - i < B ? N - i : B;
        if (npy_read_f32(H, i, nb, rows, err, sizeof err) || npy_read_i32(y, i, nb, lab, err, sizeof err) ||
            (fine && npy_read_i32(fine, i, nb, fl, err, sizeof err)))
            return die(EXIT_BAD, "%s", err);
        if (check_labels(o->labels, lab, nb, i, C) || (fine && check_labels(o->fine_labels, fl, nb, i, r->F)))
            return EXIT_BAD;
        int st = lelp_model_assign(m, rows, lab, nb, d, sub);
        if (!st) st = lelp_model_project(m, rows, nb, d, F);
        for (int k = 0; k < 5 && !st && S > 1; k++) {
            double e = 0;
            st = lelp_model_mean_entropy(m, rows, lab, nb, d, r->beta * pow(2.0, k - 2), &e);
            r->ent[k] += e * (double)nb / (double)N;
        }
        if (st)
            return die(EXIT_BAD, "%s: rows %lld..%lld: %s (%s)", o->embeddings, (long long)i, (long long)(i + nb - 1),
                       lelp_last_error(), lelp_status_string(st));
        for (int64_t k = 0; k < nb; k++) {
            const int64_t g = (int64_t)lab[k] * S + sub[k];
            r->occ[g] += 1.0, r->count[lab[k]]++;
            r->ent_cls[lab[k]] += S > 1 ? block_entropy(F + k * K + (int64_t)lab[k] * S, S) : 0.0;
            if (fine) r->joint[g * r->F + fl[k]] += 1.0;
        }
    }
    for (int64_t c = 0; c < C; c++) r->ent_cls[c] /= r->count[c] > 0 ? (double)r->count[c] : 1.0;
    free(rows), free(F), free(lab), free(sub), free(fl);
    return 0;
}

/* the scatter sample: n evenly spaced rows, each row's first two scaled projections in its own class */
static int sample(const opts* o, const lelp_model* m, npy_file* H, npy_file* y, report_data* r)
{
    char err[1100];
    const int64_t N = r->N, n = r->n_sample, d = r->d, K = r->C * r->S;
    const int64_t Bs = n < 1024 ? (n > 0 ? n : 1) : 1024;
    float* rows = xalloc((size_t)(Bs * d), sizeof(float), Bs);
    float* F = xalloc((size_t)(Bs * K), sizeof(float), Bs);
    for (int64_t i0 = 0; i0 < n; i0 += Bs) {
        const int64_t nb = n - i0 < Bs ? n - i0 : Bs;
        for (int64_t i = i0; i < i0 + nb; i++) {
            int64_t row = n == N ? i : i * N / n;
            if (npy_read_f32(H, row, 1, rows + (i - i0) * d, err, sizeof err) ||
                npy_read_i32(y, row, 1, r->lab + i, err, sizeof err))
                return die(EXIT_BAD, "%s", err);
        }
        int st = lelp_model_assign(m, rows, r->lab + i0, nb, d, r->sub + i0);
        if (!st) st = lelp_model_project(m, rows, nb, d, F);
        if (st) return die(EXIT_BAD, "%s: %s (%s)", o->embeddings, lelp_last_error(), lelp_status_string(st));
        for (int64_t i = 0; i < nb; i++) {
            const int64_t k0 = r->lab[i0 + i] * r->S, k1 = k0 + (r->S > 1 ? 1 : 0);
            r->XY[2 * (i0 + i)] = F[i * K + k0];
            r->XY[2 * (i0 + i) + 1] = F[i * K + k1];
        }
    }
    free(rows), free(F);
    return 0;
}

/* Normalized mutual information (arithmetic mean of the two entropies, as
 * scikit-learn's default) of the rows counted in table[a * F + b] over
 * a in [a0, a1); 1 if both labelings are constant, 0 if only one is. */
static double nmi(const double* table, int64_t a0, int64_t a1, int64_t F)
{
    double n = 0, ha = 0, hb = 0, mi = 0;
    double* colsum = xalloc((size_t)F, sizeof(double), F);
    for (int64_t a = a0; a < a1; a++)
        for (int64_t b = 0; b < F; b++) colsum[b] += table[a * F + b], n += table[a * F + b];
    if (n <= 0) return free(colsum), NAN;
    for (int64_t a = a0; a < a1; a++) {
        double ra = 0;
        for (int64_t b = 0; b < F; b++) ra += table[a * F + b];
        if (ra > 0) ha -= ra / n * log(ra / n);
        for (int64_t b = 0; b < F; b++) {
            double v = table[a * F + b];
            if (v > 0) mi += v / n * log(v * n / (ra * colsum[b]));
        }
    }
    for (int64_t b = 0; b < F; b++)
        if (colsum[b] > 0) hb -= colsum[b] / n * log(colsum[b] / n);
    free(colsum);
    if (ha <= 0 && hb <= 0) return 1.0;
    if (ha <= 0 || hb <= 0) return 0.0;
    double v = mi / (0.5 * (ha + hb));
    return v < 0 ? 0 : (v > 1 ? 1 : v);
}

/* ---- charts ------------------------------------------------------------------------------------------ */
enum { CW = 420, CH = 240, PL = 44, PR = 12, PT = 46, PB = 40 }; /* chart size and plot margins */

static void text_at(FILE* f, double x, double y, int size, const char* anchor, const char* s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"%s%s%s>", x, y, size, anchor ? " text-anchor=\"" : "",
            anchor ? anchor : "", anchor ? "\"" : "");
    html_text(f, s);
    fputs("</text>\n", f);
}

static void chart_open(FILE* f, const char* title, int width, int height)
{
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\"><title>", width,
            height);
    html_text(f, title);
    fputs("</title>\n", f);
    text_at(f, 8, 17, 13, NULL, title);
}

/* A bar chart: bar i of n has value v[i], colour colors[i]; x labels every
 * k-th bar and value labels only where they fit beside their neighbours;
 * an optional dashed horizontal line at `target` with a key under the title. */
typedef struct bars {
    const char* title;
    const double* v;
    int n;
    const char* const* names; /* NULL: 0 .. n-1 */
    const char* xlabel;
    const char* fmt;     /* value labels */
    char (*colors)[32];  /* n colours */
    double target;       /* NAN: none */
    const char* target_label;
} bars;

static void svg_bars(FILE* f, const bars* b)
{
    double mx = 0;
    for (int i = 0; i < b->n; i++) mx = fmax(mx, b->v[i]);
    if (!isnan(b->target)) mx = fmax(mx, b->target);
    mx = mx > 0 ? mx * 1.08 : 1; /* headroom: the tallest bar's value label stays in the plot */
    chart_open(f, b->title, CW, CH);
    const double x0 = PL, x1 = CW - PR, y0 = CH - PB, y1 = PT, bw = (x1 - x0) / (b->n > 0 ? b->n : 1);
    char label[64];
    double widest = 0, widest_name = 0;
    for (int i = 0; i < b->n; i++) {
        snprintf(label, sizeof label, b->fmt, b->v[i]);
        widest = fmax(widest, text_width(label, 9));
        if (b->names) widest_name = fmax(widest_name, text_width(b->names[i], 10));
        else snprintf(label, sizeof label, "%d", i), widest_name = fmax(widest_name, text_width(label, 10));
    }
    const int show_values = widest + 3 <= bw;
    const int every = (int)ceil((widest_name + 4) / bw); /* x labels: every k-th bar, never touching */
    for (int i = 0; i < b->n; i++) {
        double h = (y0 - y1) * b->v[i] / mx, cx = x0 + (i + 0.5) * bw;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", x0 + i * bw + 1, y0 - h,
                bw > 3 ? bw - 2 : bw, h, b->colors[i]);
        if (show_values) {
            snprintf(label, sizeof label, b->fmt, b->v[i]);
            text_at(f, cx, y0 - h - 3, 9, "middle", label);
        }
        if (i % every == 0) {
            if (b->names) snprintf(label, sizeof label, "%s", b->names[i]);
            else snprintf(label, sizeof label, "%d", i);
            text_at(f, cx, y0 + 13, 10, "middle", label);
        }
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x0, y0, x1, y0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x0, y0, x0, y1);
    snprintf(label, sizeof label, b->fmt, mx / 1.08);
    text_at(f, x0 - 3, y0 - (y0 - y1) / 1.08 + 3, 9, "end", label); /* the y scale: its top value */
    text_at(f, x0 - 3, y0 + 3, 9, "end", "0");
    if (!isnan(b->target)) {
        double ty = y0 - (y0 - y1) * b->target / mx;
        fprintf(f, "<line class=\"target\" data-value=\"%.6g\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"black\" stroke-dasharray=\"5,3\"/>\n", b->target, x0, ty, x1, ty);
        fprintf(f, "<line x1=\"%d\" y1=\"31\" x2=\"%d\" y2=\"31\" stroke=\"black\" stroke-dasharray=\"5,3\"/>\n", PL,
                PL + 22);
        text_at(f, PL + 27, 35, 11, NULL, b->target_label);
    }
    text_at(f, (x0 + x1) / 2, CH - 8, 11, "middle", b->xlabel);
    fputs("</svg></figure>\n", f);
}

/* tick values: 0 .. 4 at "nice" steps within [lo, hi] */
static int ticks(double lo, double hi, double out[8])
{
    double span = hi - lo, step = pow(10, floor(log10(span > 0 ? span / 4 : 1)));
    if (span / step > 8) step *= 2.5;
    if (span / step > 8) step *= 2;
    int n = 0;
    for (double t = ceil(lo / step) * step; t <= hi + 1e-9 * step && n < 8; t += step) out[n++] = fabs(t) < 1e-12 * step ? 0 : t;
    return n;
}

/* scatter of class c's sample rows: axes with ticks, points and a legend by pseudo-subclass */
static void svg_scatter(FILE* f, const report_data* r, int64_t c)
{
    const int64_t S = r->S;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int64_t shown = 0;
    for (int64_t i = 0; i < r->n_sample; i++)
        if (r->lab[i] == c) {
            xmin = fmin(xmin, r->XY[2 * i]), xmax = fmax(xmax, r->XY[2 * i]);
            ymin = fmin(ymin, r->XY[2 * i + 1]), ymax = fmax(ymax, r->XY[2 * i + 1]);
            shown++;
        }
    if (!shown) xmin = ymin = 0, xmax = ymax = 1;
    if (xmax <= xmin) xmin -= 0.5, xmax += 0.5;
    if (ymax <= ymin) ymin -= 0.5, ymax += 0.5;
    /* legend: one entry per pseudo-subclass in columns right of the plot */
    const int per_col = (CH - PT - PB) / 14, cols = (int)((S + per_col - 1) / per_col), LW = 46;
    const int W = CW + cols * LW;
    char title[96], label[64];
    snprintf(title, sizeof title, "rotated coordinates 1 and 2 (%lld rows)", (long long)shown);
    chart_open(f, title, W, CH);
    const double x0 = PL + 14, x1 = CW - PR, y0 = CH - PB, y1 = PT;
    const double sx = (x1 - x0) / (xmax - xmin), sy = (y0 - y1) / (ymax - ymin);
    char col[32];
    for (int64_t i = 0; i < r->n_sample; i++)
        if (r->lab[i] == c) {
            subclass_color(col, r->sub[i], S);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"%s\"/>", x0 + (r->XY[2 * i] - xmin) * sx,
                    y0 - (r->XY[2 * i + 1] - ymin) * sy, col);
        }
    fputc('\n', f);
    fprintf(f, "<g class=\"axes\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", x0, y0, x1, y0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x0, y0, x0, y1);
    double tv[8];
    int nt = ticks(xmin, xmax, tv);
    for (int k = 0; k < nt; k++) {
        double x = x0 + (tv[k] - xmin) * sx;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", x, y0, x, y0 + 4);
        snprintf(label, sizeof label, "%.3g", tv[k]);
        text_at(f, x, y0 + 14, 9, "middle", label);
    }
    nt = ticks(ymin, ymax, tv);
    for (int k = 0; k < nt; k++) {
        double y = y0 - (tv[k] - ymin) * sy;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>", x0 - 4, y, x0, y);
        snprintf(label, sizeof label, "%.3g", tv[k]);
        text_at(f, x0 - 6, y + 3, 9, "end", label);
    }
    fputs("</g>\n", f);
    text_at(f, (x0 + x1) / 2, CH - 8, 11, "middle", "f(c, 1): first rotated coordinate / beta");
    text_at(f, 8, PT - 10, 11, NULL, "f(c, 2): second rotated coordinate / beta");
    fputs("<g class=\"legend\">", f);
    for (int64_t s = 0; s < S; s++) {
        const double lx = CW + (double)(s / per_col) * LW, ly = PT + (double)(s % per_col) * 14;
        subclass_color(col, s, S);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"9\" height=\"9\" fill=\"%s\"/>", lx, ly, col);
        snprintf(label, sizeof label, "s=%lld", (long long)s);
        text_at(f, lx + 12, ly + 8, 10, NULL, label);
    }
    fputs("</g></svg></figure>\n", f);
}

/* ---- the page ---------------------------------------------------------------------------------------------- */
static void summary_table(FILE* f, const report_data* r)
{
    fprintf(f, "<section id=\"summary\"><h2>Summary</h2>\n<table class=\"summary\"><thead><tr><th>class</th><th>rows</th>"
               "<th>explained variance of the %lld directions</th><th>smallest pseudo-subclass share</th>"
               "<th>largest pseudo-subclass share</th><th>mean within-class entropy (nats)</th>%s</tr></thead><tbody>\n",
            (long long)r->S, r->F ? "<th>NMI with the fine labels</th>" : "");
    for (int64_t c = 0; c < r->C; c++) {
        double ev = 0, lo = INFINITY, hi = 0, n = r->count[c] > 0 ? (double)r->count[c] : 1.0;
        for (int64_t s = 0; s < r->S; s++) {
            ev += r->ratio[c * r->S + s];
            lo = fmin(lo, r->occ[c * r->S + s] / n), hi = fmax(hi, r->occ[c * r->S + s] / n);
        }
        fprintf(f, "<tr><td>%lld</td><td>%lld</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>", (long long)c,
                (long long)r->count[c], ev, lo, hi, r->ent_cls[c]);
        if (r->F) fprintf(f, "<td>%.4f</td>", nmi(r->joint, c * r->S, (c + 1) * r->S, r->F));
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    fprintf(f, "<p>Shares are of the class's rows; the entropy is of softmax<sub>s</sub>(f<sub>y,s</sub>) at the "
               "model's &#946;, whose target is %.2f &#183; log S = %.4f nats.", r->fraction,
            r->fraction * log((double)r->S));
    if (r->F)
        fprintf(f, " NMI (arithmetic normalisation) of the pseudo-subclasses with the fine labels: per class within "
                   "the class, and of all C&#183;S pseudo-subclasses over all rows: <span id=\"nmi-all\">%.4f</span>.",
                nmi(r->joint, 0, r->C * r->S, r->F));
    fputs("</p></section>\n", f);
}

static void write_page(FILE* f, const opts* o, const report_data* r)
{
    const int64_t C = r->C, S = r->S;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>LELP report: ");
    html_text(f, o->model);
    fprintf(f, "</title><style>body{font-family:sans-serif;margin:2em;max-width:80em}figure{display:inline-block;"
               "margin:0.5em;vertical-align:top}section{border-top:1px solid #ccc;margin-top:1em}"
               "table.summary{border-collapse:collapse}td,th{padding:0.1em 0.6em;text-align:right;"
               "border-bottom:1px solid #ddd}th{vertical-align:bottom}</style></head><body>\n"
               "<h1>LELP model report</h1>\n<p>Model <code>");
    html_text(f, o->model);
    fprintf(f, "</code>: d = %lld, C = %lld, S = %lld, &#946; = %.4g. Data <code>", (long long)r->d, (long long)C,
            (long long)S, r->beta);
    html_text(f, o->embeddings);
    fprintf(f, "</code> with labels <code>");
    html_text(f, o->labels);
    fprintf(f, "</code>: %lld rows (table, occupancy and entropy over all of them; scatters over %lld evenly spaced "
               "rows).</p>\n", (long long)r->N, (long long)r->n_sample);
    summary_table(f, r);
    fprintf(f, "<section id=\"entropy\"><h2>Within-class entropy of the pseudo-subclass softmax</h2>\n<p>Mean entropy "
               "of softmax<sub>s</sub>(f<sub>y,s</sub>) in nats at the model's &#946; and around it; the dashed line is "
               "the target %.2f &#183; log S, the maximum log S = %.3f is uniform over the S pseudo-subclasses, 0 a "
               "hard assignment.</p>\n", r->fraction, log((double)S));
    static const char* const mult[5] = {"beta/4", "beta/2", "beta", "2 beta", "4 beta"};
    char colors5[5][32], tl[64];
    for (int k = 0; k < 5; k++) snprintf(colors5[k], 32, "%s", TEMPERATURE_COLOR);
    snprintf(tl, sizeof tl, "target %.2f log S = %.3f", r->fraction, r->fraction * log((double)S));
    bars eb = {"mean within-class entropy (nats)", r->ent, 5, mult, "subclass temperature", "%.3f", colors5,
               r->fraction * log((double)S), tl};
    svg_bars(f, &eb);
    fprintf(f, "</section>\n");
    char(*dir_colors)[32] = xalloc((size_t)S, 32, S);
    char(*sub_colors)[32] = xalloc((size_t)S, 32, S);
    for (int64_t s = 0; s < S; s++) snprintf(dir_colors[s], 32, "%s", DIRECTION_COLOR), subclass_color(sub_colors[s], s, S);
    for (int64_t c = 0; c < C; c++) {
        fprintf(f, "<section class=\"class\" id=\"class-%lld\"><h2>Class %lld</h2><p>%lld rows.</p>\n", (long long)c,
                (long long)c, (long long)r->count[c]);
        bars vb = {"explained-variance ratio per direction", r->ratio + c * S, (int)S, NULL,
                   "direction (descending eigenvalue)", "%.3f", dir_colors, NAN, NULL};
        svg_bars(f, &vb);
        bars ob = {"pseudo-subclass occupancy (rows)", r->occ + c * S, (int)S, NULL, "pseudo-subclass s", "%.0f",
                   sub_colors, NAN, NULL};
        svg_bars(f, &ob);
        svg_scatter(f, r, c);
        fprintf(f, "</section>\n");
    }
    free(dir_colors), free(sub_colors);
    fprintf(f, "</body></html>\n");
}

int cmd_report(const opts* o)
{
    if (!o->model || !o->embeddings || !o->labels || !o->out)
        return die(EXIT_USAGE, "report: MODEL, --embeddings, --labels and -o are required (see lelp report --help)");
    lelp_model* m = NULL;
    report_data r;
    memset(&r, 0, sizeof r);
    int rc = load_model(o->model, &m, &r.d, &r.C, &r.S);
    if (rc) return rc;
    npy_file H, y, fine;
    if ((rc = open_matrix(&H, o->embeddings, "embeddings")) || (rc = open_labels(&y, o->labels, H.rows, o->embeddings)))
        return rc;
    if (o->fine_labels && (rc = open_labels(&fine, o->fine_labels, H.rows, o->embeddings))) return rc;
    if (H.cols != r.d)
        return die(EXIT_BAD, "%s: %lld columns but the model %s has d = %lld", o->embeddings, (long long)H.cols, o->model,
                   (long long)r.d);
    r.N = H.rows;
    r.n_sample = r.N < SCATTER_ROWS ? r.N : SCATTER_ROWS;
    lelp_model_get_double(m, LELP_MODEL_BETA, &r.beta);
    lelp_model_get_double(m, LELP_MODEL_ENTROPY_FRACTION, &r.fraction);
    if (o->fine_labels) { /* the number of fine labels: one pass, bounded table */
        char err[1100];
        int32_t buf[4096], mx = -1;
        for (int64_t i = 0; i < r.N; i += 4096) {
            int64_t nb = r.N - i < 4096 ? r.N - i : 4096;
            if (npy_read_i32(&fine, i, nb, buf, err, sizeof err)) return die(EXIT_BAD, "%s", err);
            if (check_labels(o->fine_labels, buf, nb, i, INT32_MAX)) return EXIT_BAD;
            for (int64_t k = 0; k < nb; k++) mx = buf[k] > mx ? buf[k] : mx;
        }
        r.F = (int64_t)mx + 1;
        if (r.F * r.C * r.S > MAX_CONTINGENCY)
            return die(EXIT_BAD, "%s: %lld fine labels x %lld pseudo-subclasses is more than the report's %d-cell table",
                       o->fine_labels, (long long)r.F, (long long)(r.C * r.S), MAX_CONTINGENCY);
        r.joint = xalloc((size_t)(r.F * r.C * r.S), sizeof(double), r.F);
    }
    r.count = xalloc((size_t)r.C, sizeof(int64_t), r.C);
    r.occ = xalloc((size_t)(r.C * r.S), sizeof(double), r.C);
    r.ent_cls = xalloc((size_t)r.C, sizeof(double), r.C);
    r.ratio = xalloc((size_t)(r.C * r.S), sizeof(double), r.C);
    r.lab = xalloc((size_t)r.n_sample, sizeof(int32_t), r.n_sample);
    r.sub = xalloc((size_t)r.n_sample, sizeof(int32_t), r.n_sample);
    r.XY = xalloc((size_t)(2 * r.n_sample), sizeof(double), r.n_sample);
    lelp_model_explained_variance_ratio(m, r.ratio, r.C * r.S);
    if ((rc = gather(o, m, &H, &y, o->fine_labels ? &fine : NULL, &r)) || (rc = sample(o, m, &H, &y, &r))) return rc;
    const char* tmp = out_begin(o->out);
    if (!tmp) return EXIT_BAD;
    FILE* f = strcmp(tmp, "-") ? fopen(tmp, "w") : stdout;
    if (!f) return die(EXIT_BAD, "%s: cannot create (%s)", o->out, strerror(errno));
    write_page(f, o, &r);
    if (f == stdout ? (fflush(f) != 0 || ferror(f)) : (ferror(f) | (fclose(f) != 0)))
        return die(EXIT_BAD, "%s: write failed", o->out);
    if ((rc = outs_commit())) return rc;
    free(r.count), free(r.occ), free(r.ent_cls), free(r.ratio), free(r.lab), free(r.sub), free(r.XY), free(r.joint);
    npy_close(&H);
    npy_close(&y);
    if (o->fine_labels) npy_close(&fine);
    lelp_model_free(m);
    return 0;
}
