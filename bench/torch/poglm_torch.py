#!/usr/bin/env python3
"""The PyTorch baseline of the benchmark: the same POGLM as the WGSL engine (src/reference/model.ts is the
float64 twin it follows), written the way a competent PyTorch user would write it, with gradients by autograd.

Shapes. Per-sequence quantities are [S, T, ...] tensors computed once per sequence and broadcast against
per-sample ones shaped [S, M, T, ...]. F and FB sample every bin of every sequence and sample at once; FS is
sequential in time (g[t] reads the hidden spikes already drawn), so its sampler is a Python loop over the T bins,
vectorised over sequences and samples inside each bin (as in the paper authors' own PyTorch code).

Convolutions. The spike-history filters cx[t] = sum_{l=1..L} psi[l-1] x[t-l] and rx[t] = sum_{l=1..L} psi[l-1] x[t+l]
are depthwise F.conv1d calls (groups = channels, one length-L filter per channel) on the input shifted by one bin and
zero-padded by L: the reversed basis for the causal one, the basis itself for the anti-causal one. The visible ones are
computed once per data set; the hidden one (F, FB, and FS for the score methods) once per step, under autograd.

Estimators (the conventions of src/reference/model.ts):
- pathwise (gs-pathwise, exponential, rayleigh, half-normal): objective mean_m w_m, w = ln p - ln q, autograd
  straight through the reparameterised samples (for FS, back through the loop over time);
- score (poisson, categorical, gs-score): samples drawn under torch.no_grad() (constants), objective the surrogate
  mean_m[ln p - sg(ln p) + sg(w)(ln q - sg(ln q)) + sg(w)] with sg = .detach(); its value is the ELBO and its
  gradient grad ln p + w grad ln q.
Every formula is the literal one, EPS = 1e-8 included; lgamma terms are exact (torch.lgamma).

Parameters are five tensors W [N, N], b [N], Af [H, V or N], Ab [H, V] (FB only), bq [H]; flattened in that order
they are the library's flat parameter vector (src/model/params.ts paramLayout). Training: torch.optim.Adam with two
parameter groups (lr 0.05 for theta = W, b; 0.1 for phi), betas (0.9, 0.999), eps 1e-8.

Command line (JSON in, JSON out):
  poglm_torch.py grad --input FILE [--dtype float32|float64]
      FILE: {"visible", "hidden", "scheme", "method", "basis", "params", "counts" [s][t][v],
             "noise" [s][m][t][h] (or [...][h][1], or [...][h][K] Gumbels)}, or {"problems": [such objects]}.
      Prints {"elbo", "weights" [s][m], "gradient" [flat]} (a list of them for "problems").
  poglm_torch.py step --input FILE [--dtype float32|float64]
      The same input; one training step (forward, backward, Adam) with that noise. Prints {"elbo", "params" [flat]}.
  poglm_torch.py time --input FILE [--threads N] [--warmup 2] [--repeats 7] [--target-ms 400]
                      [--budget-ms 30000] [--cap-ms 60000] [--max-steps 1000] [--dtype float32]
      FILE: {"visible", "hidden", "scheme", "method", "basis", "samples", "params", "counts"}; every step trains
      on all of "counts" (the minibatch) with noise drawn by torch.rand / torch.randn inside the step.
      Prints the step timing (median ms of forward + backward + Adam step) as JSON.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

EPS = 1e-8
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
SQRT_PI_OVER_2 = math.sqrt(math.pi / 2)
HALF_NORMAL_CONSTANT = math.log(2) / 2 - math.log(math.pi) / 2
# Terms of the Poisson CDF evaluated when sampling by inversion: every mean is a sigmoid (<= 1), and
# P(k >= 20) <= 1/20! ~ 4e-19 is far below the resolution of a uniform, so the count is the number of CDF terms u reaches.
POISSON_TERMS = 20

METHODS = {
    # name: (estimator, noise, tau)
    'poisson': ('score', 'uniform', None),
    'categorical': ('score', 'uniform', None),
    'gs-score': ('score', 'gumbel', 1.0),
    'gs-pathwise': ('pathwise', 'gumbel', 0.5),
    'exponential': ('pathwise', 'uniform', None),
    'rayleigh': ('pathwise', 'uniform', None),
    'half-normal': ('pathwise', 'normal', None),
}
SCHEMES = ('F', 'FS', 'FB')
CATEGORIES = 5


def depthwise_filter(taps, channels, dtype):
    """[channels, 1, L] weight of a depthwise conv1d applying `taps` to every channel."""
    return torch.tensor(taps, dtype=dtype).flip(0).repeat(channels, 1, 1)


def causal(x, basis_filter):
    """x [B, T, C] -> sum_{l=1..L} psi[l-1] x[t-l] (zero before t = 0)."""
    L = basis_filter.shape[-1]
    channels = x.shape[-1]
    shifted = F.pad(x.transpose(1, 2)[..., :-1], (L, 0))  # x[t-1] at position t + L - 1
    return F.conv1d(shifted, basis_filter, groups=channels).transpose(1, 2)


def anti_causal(x, basis_filter):
    """x [B, T, C] -> sum_{l=1..L} psi[l-1] x[t+l] (zero after t = T-1); basis_filter holds the *causal* taps."""
    L = basis_filter.shape[-1]
    channels = x.shape[-1]
    shifted = F.pad(x.transpose(1, 2)[..., 1:], (0, L))
    return F.conv1d(shifted, basis_filter.flip(-1), groups=channels).transpose(1, 2)


class Poglm(torch.nn.Module):
    def __init__(self, visible, hidden, scheme, method, basis, params=None, dtype=torch.float32, categories=CATEGORIES):
        super().__init__()
        if scheme not in SCHEMES:
            raise ValueError(f'scheme {scheme!r} is not one of {SCHEMES}')
        if method not in METHODS:
            raise ValueError(f'method {method!r} is not one of {tuple(METHODS)}')
        self.V, self.H, self.N = visible, hidden, visible + hidden
        self.scheme, self.method = scheme, method
        self.estimator, self.noise_kind, self.tau = METHODS[method]
        self.K = categories
        self.dtype = dtype
        self.basis = [float(value) for value in basis]
        self.L = len(self.basis)
        V, H, N = self.V, self.H, self.N
        columns = N if scheme == 'FS' else V
        shapes = [('W', (N, N)), ('b', (N,)), ('Af', (H, columns))]
        if scheme == 'FB':
            shapes.append(('Ab', (H, V)))
        shapes.append(('bq', (H,)))
        self.names = [name for name, _ in shapes]
        total = sum(math.prod(shape) for _, shape in shapes)
        flat = torch.zeros(total, dtype=dtype) if params is None else torch.as_tensor(np.asarray(params, dtype=np.float64)).to(dtype)
        if flat.numel() != total:
            raise ValueError(f'params has {flat.numel()} entries; the layout of V={V} H={H} {scheme} needs {total}')
        offset = 0
        for name, shape in shapes:
            count = math.prod(shape)
            self.register_parameter(name, torch.nn.Parameter(flat[offset:offset + count].reshape(shape).clone()))
            offset += count
        self.visible_filter = depthwise_filter(self.basis, V, dtype)
        self.hidden_filter = depthwise_filter(self.basis, H, dtype)
        k = torch.arange(1, self.K, dtype=dtype)
        self.category_index = k
        self.category_log_factorial = torch.lgamma(k + 1)
        self.count_weights = torch.arange(self.K, dtype=dtype)
        j = torch.arange(POISSON_TERMS, dtype=dtype)
        self.poisson_index = j
        self.poisson_log_factorial = torch.lgamma(j + 1)
        if self.tau is not None:
            self.concrete_constant = math.lgamma(self.K) + (self.K - 1) * math.log(self.tau)
        if scheme != 'FB':
            self.Ab = None

    # ---- parameters on the library's flat layout ----
    def flat_params(self):
        return torch.cat([getattr(self, name).detach().reshape(-1) for name in self.names])

    def flat_grad(self):
        return torch.cat([getattr(self, name).grad.reshape(-1) for name in self.names])

    def optimizer(self, theta_rate=0.05, phi_rate=0.1):
        theta = [self.W, self.b]
        phi = [getattr(self, name) for name in self.names if name not in ('W', 'b')]
        return torch.optim.Adam([{'params': theta, 'lr': theta_rate}, {'params': phi, 'lr': phi_rate}],
                                betas=(0.9, 0.999), eps=1e-8)

    # ---- data ----
    def prepare(self, counts):
        """Per-sequence constants of counts [S, T, V]: x, cx, rx and sum_{t,v} lgamma(x+1)."""
        x = torch.as_tensor(counts).to(self.dtype)
        return {
            'x': x,
            'cx': causal(x, self.visible_filter),
            'rx': anti_causal(x, self.visible_filter),
            'log_factorials': torch.lgamma(x + 1).sum(dim=(1, 2)),
        }

    def noise_shape(self, S, M, T):
        return (S, M, T, self.H, self.K) if self.noise_kind == 'gumbel' else (S, M, T, self.H)

    def draw_noise(self, S, M, T, generator=None):
        shape = self.noise_shape(S, M, T)
        if self.noise_kind == 'normal':
            return torch.randn(shape, dtype=self.dtype, generator=generator)
        u = torch.rand(shape, dtype=self.dtype, generator=generator)
        if self.noise_kind == 'gumbel':
            return -torch.log(-torch.log(u.clamp_min(1e-7)))
        return u

    # ---- distributions ----
    def truncated_poisson_log_probs(self, mean):
        """ln pi [..., K]: k ln(m+EPS) - m - lgamma(k+1) for k >= 1, ln pi[0] = ln(1 - sum_{k>=1} pi[k])."""
        m = mean.unsqueeze(-1)
        rest = self.category_index * torch.log(m + EPS) - m - self.category_log_factorial
        head = torch.log(1 - rest.exp().sum(-1, keepdim=True))
        return torch.cat([head, rest], -1)

    def log_likelihood(self, sample, mean):
        """LL_D(sample; par(mean)), elementwise over [S, M, T, H] (mean broadcasts)."""
        method = self.method
        if method == 'poisson':
            return sample * torch.log(mean + EPS) - mean - torch.lgamma(sample + 1)
        if method == 'categorical':
            log_probs = self.truncated_poisson_log_probs(mean).expand(*sample.shape, self.K)
            return log_probs.gather(-1, sample.long().clamp_max(self.K - 1).unsqueeze(-1)).squeeze(-1)
        if method in ('gs-score', 'gs-pathwise'):
            log_probs = self.truncated_poisson_log_probs(mean)
            spread = -self.K * torch.logsumexp(log_probs - self.tau * sample, -1)
            linear = (log_probs - (self.tau + 1) * sample).sum(-1)
            return spread + linear + self.concrete_constant
        if method == 'exponential':
            scale = mean + EPS
            return -torch.log(scale) - sample / scale
        if method == 'rayleigh':
            s = mean * SQRT_2_OVER_PI + EPS
            return torch.log(sample + EPS) - 2 * torch.log(s) - sample.square() / (2 * s.square())
        s = mean * SQRT_PI_OVER_2 + EPS  # half-normal
        return HALF_NORMAL_CONSTANT - torch.log(s) - sample.square() / (2 * s.square())

    def noise_factor(self, noise):
        """What the base noise contributes to a continuous sample: z = mean * factor."""
        if self.method == 'exponential':
            return -torch.log(1 - noise)
        if self.method == 'rayleigh':
            return SQRT_2_OVER_PI * torch.sqrt(-2 * torch.log(1 - noise))
        if self.method == 'half-normal':
            return SQRT_PI_OVER_2 * noise.abs()
        return noise

    def draw(self, mean, factor):
        """(sample, count entering the convolution) with mean `mean` from base noise (factor = noise_factor(noise))."""
        method = self.method
        if method == 'poisson':
            m = mean.unsqueeze(-1)
            terms = self.poisson_index * torch.log(m.clamp_min(1e-30)) - m - self.poisson_log_factorial
            cdf = terms.exp().cumsum(-1)
            counts = (factor.unsqueeze(-1) >= cdf).sum(-1).to(self.dtype)
            return counts, counts
        if method == 'categorical':
            cdf = self.truncated_poisson_log_probs(mean)[..., :-1].exp().cumsum(-1)
            counts = (factor.unsqueeze(-1) >= cdf).sum(-1).to(self.dtype)
            return counts, counts
        if method in ('gs-score', 'gs-pathwise'):
            log_y = torch.log_softmax((self.truncated_poisson_log_probs(mean) + factor) / self.tau, -1)
            return log_y, (log_y.exp() * self.count_weights).sum(-1)
        z = mean * factor
        return z, z

    # ---- the variational model ----
    def data_drive(self, data):
        """bq + Af_v cx (+ Ab rx for FB): [S, T, H], per sequence."""
        drive = data['cx'] @ self.Af[:, :self.V].T + self.bq
        if self.scheme == 'FB':
            drive = drive + data['rx'] @ self.Ab.T
        return drive

    def forward_self(self, drive, factor):
        """FS's sampler: a loop over bins, each vectorised over sequences and samples. Returns mean, sample, cz."""
        S, M, T = factor.shape[:3]
        self_weight = self.Af[:, self.V:].T  # [H (sending), H (receiving)]
        means, samples, counts, history = [], [], [], []
        zeros = drive.new_zeros((S, M, self.H))
        for t in range(T):
            lags = [self.basis[l - 1] * counts[t - l] for l in range(1, min(self.L, t) + 1)]
            cz = sum(lags) if lags else zeros
            mean = torch.sigmoid(drive[:, t].unsqueeze(1) + cz @ self_weight)
            sample, count = self.draw(mean, factor[:, :, t])
            means.append(mean)
            samples.append(sample)
            counts.append(count)
            history.append(cz)
        return torch.stack(means, 2), torch.stack(samples, 2), torch.stack(history, 2)

    def convolve_hidden(self, counts):
        S, M, T, H = counts.shape
        return causal(counts.reshape(S * M, T, H), self.hidden_filter).reshape(S, M, T, H)

    def sample_q(self, data, noise):
        """mean [S, M or 1, T, H], sample, cz [S, M, T, H] from base noise [S, M, T, H(, K)]."""
        factor = self.noise_factor(noise)
        drive = self.data_drive(data)
        if self.scheme == 'FS':
            return self.forward_self(drive, factor)
        mean = torch.sigmoid(drive).unsqueeze(1)
        sample, count = self.draw(mean, factor)
        return mean, sample, self.convolve_hidden(count)

    # ---- the objective ----
    def objective(self, data, noise):
        """(objective, weights [S, M]): objective = mean_m w_m (pathwise) or the score surrogate (value = ELBO)."""
        if self.estimator == 'pathwise':
            mean, sample, cz = self.sample_q(data, noise)
        else:
            with torch.no_grad():
                _, sample, cz = self.sample_q(data, noise)
            # The samples are constants; q's means with gradient, vectorised over t (FS included).
            drive = self.data_drive(data).unsqueeze(1)
            if self.scheme == 'FS':
                drive = drive + cz @ self.Af[:, self.V:].T
            mean = torch.sigmoid(drive)
        V = self.V
        # Generative rates: a = cx Wv^T + b (per sequence) + cz Wh^T (per sample).
        from_data = (data['cx'] @ self.W[:, :V].T + self.b).unsqueeze(1)
        rates = torch.sigmoid(from_data + cz @ self.W[:, V:].T)  # [S, M, T, N]
        visible_rates, hidden_rates = rates[..., :V], rates[..., V:]
        x = data['x'].unsqueeze(1)
        visible = (x * torch.log(visible_rates + EPS) - visible_rates).sum((2, 3)) - data['log_factorials'].unsqueeze(1)
        log_joint = visible + self.log_likelihood(sample, hidden_rates).sum((2, 3))
        log_q = self.log_likelihood(sample, mean).sum((2, 3))
        weights = log_joint - log_q
        if self.estimator == 'pathwise':
            return weights.mean(), weights
        frozen = weights.detach()
        surrogate = log_joint - log_joint.detach() + frozen * (log_q - log_q.detach()) + frozen
        return surrogate.mean(), weights


# ---------------------------------------------------------------------------------------------------------------
# Command line

def dtype_of(name):
    return {'float32': torch.float32, 'float64': torch.float64}[name]


def model_of(spec, dtype):
    return Poglm(int(spec['visible']), int(spec['hidden']), spec['scheme'], spec['method'], spec['basis'],
                 params=spec.get('params'), dtype=dtype)


def elbo_and_gradient(spec, dtype):
    model = model_of(spec, dtype)
    counts = np.asarray(spec['counts'], dtype=np.float64)
    S, T = counts.shape[:2]
    noise = np.asarray(spec['noise'], dtype=np.float64)
    M = noise.shape[1]
    noise = torch.as_tensor(noise.reshape(model.noise_shape(S, M, T))).to(dtype)
    data = model.prepare(counts)
    objective, weights = model.objective(data, noise)
    model.zero_grad()
    objective.backward()
    return {
        'elbo': weights.mean().item(),
        'objective': objective.item(),
        'weights': weights.detach().to(torch.float64).tolist(),
        'gradient': model.flat_grad().to(torch.float64).tolist(),
    }


def command_grad(args):
    with open(args.input) as file:
        spec = json.load(file)
    dtype = dtype_of(args.dtype)
    if 'problems' in spec:
        result = [elbo_and_gradient(problem, dtype) for problem in spec['problems']]
    else:
        result = elbo_and_gradient(spec, dtype)
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


def load_training(args):
    """The problem of a step or time command: its spec, dtype, model, Adam optimizer and counts."""
    with open(args.input) as file:
        spec = json.load(file)
    dtype = dtype_of(args.dtype)
    model = model_of(spec, dtype)
    return spec, dtype, model, model.optimizer(), np.asarray(spec['counts'], dtype=np.float64)


def command_step(args):
    spec, dtype, model, optimizer, counts = load_training(args)
    S, T = counts.shape[:2]
    noise = np.asarray(spec['noise'], dtype=np.float64)
    noise = torch.as_tensor(noise.reshape(model.noise_shape(S, noise.shape[1], T))).to(dtype)
    objective, weights = model.objective(model.prepare(counts), noise)
    optimizer.zero_grad(set_to_none=True)
    (-objective).backward()
    optimizer.step()
    json.dump({'elbo': weights.mean().item(), 'params': model.flat_params().to(torch.float64).tolist()}, sys.stdout)
    sys.stdout.write('\n')


def command_time(args):
    torch.set_num_threads(args.threads)
    spec, dtype, model, optimizer, counts = load_training(args)
    S, T = counts.shape[:2]
    M = int(spec['samples'])
    generator = torch.Generator().manual_seed(int(spec.get('seed', 0)))
    data = model.prepare(counts)

    def step():
        # One training step: noise, forward, backward, Adam; the loss is -ELBO averaged over the minibatch.
        noise = model.draw_noise(S, M, T, generator)
        objective, _ = model.objective(data, noise)
        optimizer.zero_grad(set_to_none=True)
        (-objective).backward()
        optimizer.step()
        return objective.item()

    def timed(steps):
        started = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - started) * 1000

    # The protocol of bench/timing.ts timeSteps: warm-up, a one-step estimate, then k steps per measurement.
    started = time.perf_counter()
    result = {'engine': 'torch', 'threads': torch.get_num_threads(), 'torch': torch.__version__, 'dtype': args.dtype}
    warmup_ms = 0.0
    for _ in range(max(1, args.warmup)):
        warmup_ms = timed(1)
        if warmup_ms > args.cap_ms:
            result.update(stepMs=warmup_ms, minMs=warmup_ms, maxMs=warmup_ms, steps=1, repeats=1, warmupMs=warmup_ms,
                          samplesMs=[warmup_ms], singleRun=True)
            json.dump(result, sys.stdout)
            sys.stdout.write('\n')
            return
    estimate = timed(1)
    steps = max(1, min(args.max_steps, round(args.target_ms / max(estimate, 1e-3))))
    per_step = [estimate] if steps == 1 else []
    budget_limited = False
    while len(per_step) < args.repeats:
        spent = (time.perf_counter() - started) * 1000
        if per_step and spent + steps * estimate * 1.2 > args.budget_ms:
            budget_limited = True
            break
        per_step.append(timed(steps) / steps)
    result.update(stepMs=float(np.median(per_step)), minMs=min(per_step), maxMs=max(per_step), steps=steps,
                  repeats=len(per_step), warmupMs=warmup_ms, samplesMs=per_step)
    if budget_limited:
        result['budgetLimited'] = True
    finite = all(math.isfinite(value) for value in model.flat_params().tolist())
    result['finiteParams'] = finite
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


def main():
    parser = argparse.ArgumentParser(description='PyTorch baseline of poglm-gpu (bench/torch)')
    commands = parser.add_subparsers(dest='command', required=True)
    grad = commands.add_parser('grad', help='ELBO and flat gradient for given parameters, data and base noise')
    grad.add_argument('--input', required=True)
    grad.add_argument('--dtype', default='float32', choices=('float32', 'float64'))
    one_step = commands.add_parser('step', help='one training step with given base noise; prints the parameters after it')
    one_step.add_argument('--input', required=True)
    one_step.add_argument('--dtype', default='float32', choices=('float32', 'float64'))
    timing = commands.add_parser('time', help='median time of one training step (forward, backward, Adam)')
    timing.add_argument('--input', required=True)
    timing.add_argument('--threads', type=int, default=1)
    timing.add_argument('--dtype', default='float32', choices=('float32', 'float64'))
    timing.add_argument('--warmup', type=int, default=2)
    timing.add_argument('--repeats', type=int, default=7)
    timing.add_argument('--target-ms', type=float, default=400)
    timing.add_argument('--budget-ms', type=float, default=30000)
    timing.add_argument('--cap-ms', type=float, default=60000)
    timing.add_argument('--max-steps', type=int, default=1000)
    args = parser.parse_args()
    {'grad': command_grad, 'step': command_step, 'time': command_time}[args.command](args)


if __name__ == '__main__':
    main()
