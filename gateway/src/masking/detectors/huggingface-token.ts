import type { Detector } from '../detector';
import { patternDetector } from './pattern';

/**
 * Hugging Face user access tokens: `hf_` and 34 letters, upper and lower case (older ones also
 * digits). Identifiers such as `hf_hub_download` or `hf_model_name` have an underscore or the
 * wrong length and are left alone.
 */
export const huggingfaceToken: Detector = patternDetector({
  id: 'huggingface-token',
  type: 'huggingface_token',
  family: 'secret',
  maxLength: 37,
  pattern: /(?<![A-Za-z0-9_-])hf_(?=[A-Za-z0-9]{0,33}[A-Z])(?=[A-Za-z0-9]{0,33}[a-z])[A-Za-z0-9]{34}(?![A-Za-z0-9_-])/g,
});
