/**
 * `pendingFrom` helpers for detectors whose matches start with a fixed marker. Only the last
 * marker can begin an unfinished match when a match's body cannot contain the marker itself;
 * a marker cut in half at the very end is held back too.
 */
export function pendingFromLastMarker(marker: string, maxLength: number): (text: string) => number {
  return (text: string): number => {
    // Only a marker in the last maxLength - 1 characters counts, so only they are searched, and
    // forwards: indexOf is a fast substring search, lastIndexOf walks back over the whole text.
    let last = -1;
    for (let at = text.indexOf(marker, Math.max(0, text.length - maxLength + 1)); at >= 0; at = text.indexOf(marker, at + 1)) last = at;
    if (last >= 0) return last;
    return Math.max(0, text.length - (marker.length - 1));
  };
}

/**
 * For matches made of one run of token characters (a JWT): an unfinished match lies in the run
 * of such characters that reaches the end of the text.
 */
export function pendingFromTrailingRun(isRunChar: (code: number) => boolean, maxLength: number): (text: string) => number {
  return (text: string): number => {
    const limit = Math.max(0, text.length - maxLength);
    let start = text.length;
    while (start > limit && isRunChar(text.charCodeAt(start - 1))) start--;
    return start;
  };
}
