// Special functions in f32, twins of src/reference/special.ts (which uses mathjs in float64).

const EPS: f32 = 1e-8;
const HALF_LOG_TWO_PI: f32 = 0.9189385332046727;

// sigma(x) evaluating exp only at non-positive arguments, so neither tail overflows.
fn sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

const LOG_FACTORIAL_TABLE = array<f32, 16>(
  0.0, 0.0, 0.693147180559945, 1.7917594692280554, 3.178053830347945, 4.787491742782047, 6.579251212010102,
  8.525161361065415, 10.604602902745249, 12.801827480081467, 15.104412573075514, 17.502307845873887,
  19.987214495661885, 22.55216385312342, 25.191221182738683, 27.89927138384089
);

// ln(k!) for a non-negative integer k stored in an f32: a table below 16, Stirling's series (error < 1e-9) above.
fn logFactorial(k: f32) -> f32 {
  if (k < 16.0) {
    let table = LOG_FACTORIAL_TABLE;
    return table[u32(max(k, 0.0))];
  }
  let x = k + 1.0;
  let inverse = 1.0 / x;
  let inverseSquared = inverse * inverse;
  let series = inverse * (1.0 / 12.0 - inverseSquared * (1.0 / 360.0 - inverseSquared * (1.0 / 1260.0)));
  return (x - 0.5) * log(x) - x + HALF_LOG_TWO_PI + series;
}

// ln Gamma(n) for a small positive integer n (the Concrete density's normaliser).
fn logGammaInteger(n: u32) -> f32 {
  return logFactorial(f32(n) - 1.0);
}
