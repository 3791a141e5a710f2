// The one place keys are read: every key press becomes at most one Command
// for the current mode (src/model/keys.ts decides which), so only the
// focused view reacts.
import { useInput, useStdin } from 'ink';
import { useEffect } from 'react';
import { type Command, F6, NO_KEY, keyToCommand } from '../src/model/keys.ts';
import type { Mode } from '../src/model/view.ts';

export function useKeymap(mode: Mode, onCommand: (c: Command) => void): void {
  useInput((input, key) => {
    const c = keyToCommand(mode, input, key);
    if (c !== null) onCommand(c);
  });
  // Ink's Key has no function keys: F6 is recognized from the raw sequence.
  const { internal_eventEmitter: events } = useStdin();
  useEffect(() => {
    const onRaw = (data: string): void => {
      if (data !== F6) return;
      const c = keyToCommand(mode, F6, NO_KEY);
      if (c !== null) onCommand(c);
    };
    events.on('input', onRaw);
    return () => {
      events.off('input', onRaw);
    };
  }, [events, mode, onCommand]);
}
