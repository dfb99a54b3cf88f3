import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/** Stripe secret and restricted keys, live and test (publishable `pk_` keys are public by design). */
export const stripeKey: Detector = patternDetector({
  id: 'stripe-key',
  type: 'stripe_key',
  family: 'secret',
  maxLength: 255,
  pattern: /(?<![A-Za-z0-9_])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}(?![A-Za-z0-9_])/g,
});
