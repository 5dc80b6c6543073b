// The coverage part of a parser's InputFacts (tests compare it whole; the
// kernel evidence beside it is tested on its own).

import type { InputFacts } from '../../src/engine/events.js';

export function coverageFacts(f: InputFacts): Pick<InputFacts, 'overwritten' | 'sawBufferHeader' | 'overwrittenCount'> {
  return { overwritten: f.overwritten, sawBufferHeader: f.sawBufferHeader, overwrittenCount: f.overwrittenCount };
}
