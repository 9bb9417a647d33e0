/**
 * Elementary functions computed only with `+ - * /`, `Math.sqrt`, `Math.floor`, `Math.round` and exact
 * bit manipulation — operations IEEE 754 defines to the last bit. `Math.sin`, `Math.log` and friends
 * are not so defined, and V8 (Deno) and JavaScriptCore (Bun) differ in the last bit for some inputs.
 * Code whose results feed a simulation's trace (random variates, bot movement, spawn placement) uses
 * these, so a seed replays to the same trace hash on either runtime. Accuracy: a few units in the last
 * place over the ranges used; not for heavy numerics.
 * @module
 */

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LN2 = 0.6931471805599453;
const PI = 3.141592653589793;
const PI_2 = 1.5707963267948966;
const PIO2_HI = 1.57079632673412561417e+0;
const PIO2_LO = 6.07710050650619224932e-11;
const PI_6 = 0.5235987755982989;
const TAN_PI_12 = 0.2679491924311227;
const SQRT3 = 1.7320508075688772;

const scratch = new DataView(new ArrayBuffer(8));

/** The unbiased binary exponent of a finite, positive, normal `x`: `x = m·2^e` with `m` in [1, 2). */
function exponentOf(x: number): number {
  scratch.setFloat64(0, x);
  return ((scratch.getUint16(0) >>> 4) & 0x7ff) - 1023;
}

/** `2^k` for an integer `k` in -1022 … 1023, exactly. */
function pow2(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20);
  scratch.setUint32(4, 0);
  return scratch.getFloat64(0);
}

/** `floor(log2(x))` for a finite `x > 0`, exactly (also for subnormals). */
export function floorLog2(x: number): number {
  if (!(x > 0) || x === Infinity) return NaN;
  if (x < 2.2250738585072014e-308) return exponentOf(x * 2 ** 54) - 54;
  return exponentOf(x);
}

/** The natural logarithm. */
export function log(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return Infinity;
  let e = floorLog2(x);
  let m = x / (e >= -1022 ? pow2(e) : pow2(e + 54) / 2 ** 54);
  if (m > Math.SQRT2) {
    m /= 2;
    e += 1;
  }
  // log(m) = 2·atanh(s), s = (m-1)/(m+1), |s| ≤ 0.1716.
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let term = s;
  let sum = s;
  for (let n = 3; n <= 29; n += 2) {
    term *= s2;
    sum += term / n;
  }
  return e * LN2_HI + (e * LN2_LO + 2 * sum);
}

/** `e^x`. */
export function exp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 709.782712893384) return Infinity;
  if (x < -745.1332191019412) return 0;
  const k = Math.round(x / LN2);
  const r = (x - k * LN2_HI) - k * LN2_LO; // |r| ≤ 0.35
  let term = 1;
  let sum = 1;
  for (let n = 1; n <= 20; n++) {
    term = (term * r) / n;
    sum += term;
  }
  // Split 2^k so that neither factor overflows or underflows on its own.
  if (k > 1023) return sum * pow2(1023) * pow2(k - 1023);
  if (k < -1022) return sum * pow2(-1022) * pow2(k + 1022);
  return sum * pow2(k);
}

/** `base^exponent` for `base > 0` (what the variates need); other bases fall back to exact cases. */
export function pow(base: number, exponent: number): number {
  if (exponent === 0) return 1;
  if (base === 1) return 1;
  if (base > 0) return exp(exponent * log(base));
  if (base === 0) return exponent > 0 ? 0 : Infinity;
  return NaN;
}

/** sin and cos of `r` with |r| ≤ π/4, by their Taylor series. */
function sinCosReduced(r: number): [number, number] {
  const r2 = r * r;
  let sinTerm = r;
  let sin = r;
  let cosTerm = 1;
  let cos = 1;
  for (let n = 1; n <= 11; n++) {
    sinTerm = (-sinTerm * r2) / ((2 * n) * (2 * n + 1));
    sin += sinTerm;
    cosTerm = (-cosTerm * r2) / ((2 * n - 1) * (2 * n));
    cos += cosTerm;
  }
  return [sin, cos];
}

/** `[sin(x), cos(x)]`, reduced by quadrant (accurate for |x| up to about 1e6). */
function sinCos(x: number): [number, number] {
  if (!Number.isFinite(x)) return [NaN, NaN];
  const k = Math.round(x / PI_2);
  const r = (x - k * PIO2_HI) - k * PIO2_LO;
  const [s, c] = sinCosReduced(r);
  switch (((k % 4) + 4) % 4) {
    case 0:
      return [s, c];
    case 1:
      return [c, -s];
    case 2:
      return [-s, -c];
    default:
      return [-c, s];
  }
}

/** The sine. */
export function sin(x: number): number {
  return sinCos(x)[0];
}

/** The cosine. */
export function cos(x: number): number {
  return sinCos(x)[1];
}

/** atan of `z` in [0, 1]. */
function atanUnit(z: number): number {
  let offset = 0;
  if (z > TAN_PI_12) {
    // atan(z) = π/6 + atan((z·√3 - 1) / (z + √3)), which lands in [-tan(π/12), tan(π/12)].
    offset = PI_6;
    z = (z * SQRT3 - 1) / (z + SQRT3);
  }
  const z2 = z * z;
  let term = z;
  let sum = z;
  for (let n = 1; n <= 14; n++) {
    term *= -z2;
    sum += term / (2 * n + 1);
  }
  return offset + sum;
}

/** The arc tangent. */
export function atan(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  const r = a <= 1 ? atanUnit(a) : PI_2 - atanUnit(1 / a);
  return x < 0 ? -r : r;
}

/** The angle of the point (x, y), as `Math.atan2(y, x)`. */
export function atan2(y: number, x: number): number {
  if (Number.isNaN(x) || Number.isNaN(y)) return NaN;
  if (x === 0 && y === 0) return Object.is(x, -0) ? (Object.is(y, -0) ? -PI : PI) : y;
  if (x === 0) return y > 0 ? PI_2 : -PI_2;
  const base = atan(y / x);
  if (x > 0) return base;
  // Left half-plane: the sign of y, including that of a zero, picks +π or -π.
  return y > 0 || Object.is(y, 0) ? base + PI : base - PI;
}
