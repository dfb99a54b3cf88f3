import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * PyPI and TestPyPI API tokens: `pypi-` and a macaroon whose first bytes always encode its
 * location, so it starts `AgEIcHlwaS5vcmc` (pypi.org) or `AgENdGVzdC5weXBpLm9yZw` (test.pypi.org).
 */
export const pypiToken: Detector = patternDetector({
  id: 'pypi-token',
  type: 'pypi_token',
  family: 'secret',
  maxLength: 420,
  pattern: /(?<![A-Za-z0-9_-])pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,400}(?![A-Za-z0-9_-])/g,
});
