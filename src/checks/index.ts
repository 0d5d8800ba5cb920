import type { Check } from './types.js';
import { pinExhausted } from './pinExhausted.js';
import { steVmidZero } from './steVmidZero.js';
import { vmidChangedUnderBoundSte } from './vmidChangedUnderBoundSte.js';
import { vmidReuseWithoutInvalidation } from './vmidReuseWithoutInvalidation.js';
import { steSwitchWithoutInvalidation } from './steSwitchWithoutInvalidation.js';
import { pinLeaked } from './pinLeaked.js';
import { pinReleasedWhileBound } from './pinReleasedWhileBound.js';
import { vmTwoVmids } from './vmTwoVmids.js';
import { modelDivergence } from './modelDivergence.js';
import { vmidWidthMismatch } from './vmidWidthMismatch.js';

/** Every check, in the order findings are listed. */
export const allChecks: readonly Check[] = [
  pinExhausted,
  steVmidZero,
  vmidChangedUnderBoundSte,
  vmidReuseWithoutInvalidation,
  steSwitchWithoutInvalidation,
  pinLeaked,
  pinReleasedWhileBound,
  vmTwoVmids,
  vmidWidthMismatch,
  modelDivergence,
];
