// SPDX-License-Identifier: MIT
// libtorch_student.cpp -- a student trained in C++ with libtorch on liblelp's
// targets, loss and gradient.
//
// A synthetic few-class task: C = 3 classes, each made of 3 hidden Gaussian
// clusters in an input space of width 16. The "teacher" sees the inputs
// through a fixed random nonlinear map (its embeddings h = tanh(A x), width
// 32) and a linear head W, fitted by softmax regression on h, that gives its
// logits z = W h. liblelp streams the embeddings, fits S = 3
// subspaces per class and labels every example with C*S soft targets. A
// libtorch MLP student (16 -> 64 -> C*S) then learns from the raw inputs:
// per batch, its logits go to lelp_loss_compute, whose dL/dlogits is handed
// to libtorch's autograd with logits.backward(grad), and Adam steps. Before
// training, the loss and gradient of one batch are compared with the same
// loss written in libtorch ops and differentiated by autograd (an independent
// check that liblelp's gradient is the gradient of liblelp's loss and that the
// layouts agree). Prints the loss per epoch and the student's held-out class
// accuracy; exits 1 if the student does not learn.
//
//   make examples && build/examples/libtorch_student      (make check-libtorch)
//
// Needs Debian's libtorch-dev (PyTorch's C++ API, 1.13): make deps installs it.
#include <torch/torch.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "lelp.h"

namespace {

constexpr int64_t DX = 16, D = 32, C = 3, S = 3, HIDDEN = 3;
constexpr int64_t N_TRAIN = 3000, N_TEST = 1000, BATCH = 64, EPOCHS = 15;
constexpr double TAU = 2.0, ALPHA = 0.1, LR = 5e-3, MIN_ACCURACY = 0.75;

void check(int status, const char* call)
{
    if (status != LELP_OK) {
        std::fprintf(stderr, "libtorch_student: %s failed: %s (%s)\n", call, lelp_status_string(status),
                     lelp_last_error());
        std::exit(1);
    }
}
#define CALL(call) check((call), #call)

// n inputs drawn around the class's clusters; labels int32 as liblelp takes them.
void make_data(const torch::Tensor& centres, int64_t n, torch::Tensor& X, torch::Tensor& y)
{
    torch::Tensor cluster = torch::randint(C * HIDDEN, {n}, torch::kLong);
    X = centres.index_select(0, cluster) + torch::randn({n, DX});
    y = cluster.div(HIDDEN, "floor").to(torch::kInt32);
}

// The same loss as lelp_loss_compute (docs/api.md), in libtorch ops:
// (1-alpha) tau^2 KL(t || softmax(u/tau)) + alpha CE(y, class marginal of softmax(u)),
// averaged over the batch.
torch::Tensor torch_loss(const torch::Tensor& U, const torch::Tensor& T, const torch::Tensor& y)
{
    torch::Tensor kl = (torch::xlogy(T, T) - T * torch::log_softmax(U / TAU, 1)).sum(1);
    torch::Tensor class_logp = torch::log_softmax(U, 1).view({-1, C, S}).logsumexp(2);
    torch::Tensor ce = -class_logp.gather(1, y.to(torch::kLong).unsqueeze(1)).squeeze(1);
    return ((1.0 - ALPHA) * TAU * TAU * kl + ALPHA * ce).mean();
}

// liblelp's loss of a batch of student logits; fills grad (same shape) with dL/dU.
double lelp_batch_loss(const lelp_loss* loss, const torch::Tensor& U, const torch::Tensor& T,
                       const torch::Tensor& y, torch::Tensor& grad)
{
    torch::Tensor u = U.detach().contiguous();
    grad = torch::empty_like(u);
    double value = 0.0;
    CALL(lelp_loss_compute(loss, u.data_ptr<float>(), T.data_ptr<float>(), y.data_ptr<int32_t>(), nullptr,
                            u.size(0), &value, grad.data_ptr<float>()));
    return value;
}

double accuracy(const torch::Tensor& U, const torch::Tensor& y)
{
    torch::Tensor u = U.detach().contiguous();
    torch::Tensor pred = torch::empty({u.size(0)}, torch::kInt32);
    CALL(lelp_predict_class(u.data_ptr<float>(), u.size(0), C, S, pred.data_ptr<int32_t>()));
    return pred.eq(y).to(torch::kDouble).mean().item<double>();
}

}  // namespace

int main()
{
    torch::manual_seed(7);
    torch::set_num_threads(1);  // a small model: threads would only add overhead

    // 1. data and teacher
    torch::Tensor centres = 1.2 * torch::randn({C * HIDDEN, DX});
    torch::Tensor X, y, Xt, yt;
    make_data(centres, N_TRAIN, X, y);
    make_data(centres, N_TEST, Xt, yt);
    torch::Tensor A = torch::randn({D, DX}) / std::sqrt(double(DX));
    torch::Tensor H = torch::tanh(X.matmul(A.t())).contiguous();
    // the teacher's head: softmax regression on its embeddings (full-batch Adam)
    torch::Tensor W = torch::zeros({C, D}, torch::requires_grad());
    {
        torch::optim::Adam head_opt({W}, torch::optim::AdamOptions(0.05));
        for (int step = 0; step < 300; step++) {
            head_opt.zero_grad();
            torch::nn::functional::cross_entropy(H.matmul(W.t()), y.to(torch::kLong)).backward();
            head_opt.step();
        }
    }
    W = W.detach().contiguous();
    torch::Tensor Z = H.matmul(W.t()).contiguous();  // the teacher's logits
    torch::Tensor Zt = torch::tanh(Xt.matmul(A.t())).matmul(W.t());
    std::printf("teacher: %lld-d embeddings, linear head, held-out accuracy %.3f\n", (long long)D,
                Zt.argmax(1).to(torch::kInt32).eq(yt).to(torch::kDouble).mean().item<double>());

    // 2. liblelp: stream the embeddings, fit S subspaces per class, label every example
    lelp_builder* b = nullptr;
    lelp_model* m = nullptr;
    CALL(lelp_builder_create(&b, D, C, S, nullptr));
    CALL(lelp_builder_set_int(b, LELP_BUILDER_SEED, 7));
    for (int64_t i = 0; i < N_TRAIN; i += 500)
        CALL(lelp_builder_update(b, H[i].data_ptr<float>(), y[i].data_ptr<int32_t>(), 500, D));
    CALL(lelp_builder_set_head(b, W.data_ptr<float>(), C, D));
    CALL(lelp_builder_fit(b, &m));
    double beta = 0.0;
    CALL(lelp_model_get_double(m, LELP_MODEL_BETA, &beta));
    torch::Tensor T = torch::empty({N_TRAIN, C * S});
    CALL(lelp_model_targets_from_logits(m, H.data_ptr<float>(), Z.data_ptr<float>(), N_TRAIN, D, TAU,
                                         T.data_ptr<float>()));
    std::printf("liblelp: C=%lld S=%lld, automatic beta %.4f, %lld x %lld soft targets\n", (long long)C,
                (long long)S, beta, (long long)N_TRAIN, (long long)(C * S));

    lelp_loss* loss = nullptr;
    CALL(lelp_loss_create(&loss, C, S, nullptr));
    CALL(lelp_loss_set_double(loss, LELP_LOSS_TAU, TAU));
    CALL(lelp_loss_set_double(loss, LELP_LOSS_ALPHA, ALPHA));

    // 3. the libtorch student
    torch::nn::Sequential student(torch::nn::Linear(DX, 64), torch::nn::ReLU(), torch::nn::Linear(64, C * S));
    torch::optim::Adam opt(student->parameters(), torch::optim::AdamOptions(LR));

    {  // liblelp's gradient against libtorch autograd on the first batch
        torch::Tensor Ub = student->forward(X.slice(0, 0, BATCH)).detach().requires_grad_(true);
        torch::Tensor Tb = T.slice(0, 0, BATCH), yb = y.slice(0, 0, BATCH), grad;
        double value = lelp_batch_loss(loss, Ub, Tb, yb, grad);
        torch::Tensor ref = torch_loss(Ub, Tb, yb);
        ref.backward();
        std::printf("gradient check vs libtorch autograd: |loss diff| %.2e, max |grad diff| %.2e\n",
                    std::fabs(value - ref.item<double>()), (Ub.grad() - grad).abs().max().item<double>());
    }

    for (int64_t epoch = 1; epoch <= EPOCHS; epoch++) {
        torch::Tensor perm = torch::randperm(N_TRAIN, torch::kLong);
        double total = 0.0;
        int64_t batches = 0;
        for (int64_t i0 = 0; i0 < N_TRAIN; i0 += BATCH) {
            torch::Tensor idx = perm.slice(0, i0, std::min(i0 + BATCH, N_TRAIN));
            torch::Tensor logits = student->forward(X.index_select(0, idx));
            torch::Tensor grad;
            total += lelp_batch_loss(loss, logits, T.index_select(0, idx), y.index_select(0, idx), grad);
            batches++;
            opt.zero_grad();
            logits.backward(grad);  // dL/dlogits from liblelp -> dL/dparameters by autograd
            opt.step();
        }
        std::printf("epoch %2lld  loss %.5f\n", (long long)epoch, total / double(batches));
    }

    // 4. held-out class accuracy from the class marginal of the C*S logits
    torch::NoGradGuard no_grad;
    double acc = accuracy(student->forward(Xt), yt);
    std::printf("student held-out accuracy: %.3f (%lld test examples, chance %.3f)\n", acc, (long long)N_TEST,
                1.0 / double(C));

    lelp_loss_free(loss);
    lelp_model_free(m);
    lelp_builder_free(b);
    if (acc < MIN_ACCURACY) {
        std::fprintf(stderr, "libtorch_student: accuracy %.3f is below %.2f; the student did not learn\n", acc,
                     MIN_ACCURACY);
        return 1;
    }
    return 0;
}
