// The one place keys are read: every key press becomes at most one Command
// for the current mode (src/model/keys.ts decides which), so only the
// focused view reacts.
import { useInput, useStdin } from 'ink';
import { useCallback, useEffect, useRef } from 'react';
import { type Command, F6, NO_KEY, type KeyPress, keyToCommand } from '../src/model/keys.ts';
import type { Mode } from '../src/model/view.ts';

export function useKeymap(mode: Mode, onCommand: (c: Command) => void): void {
  // One subscription for the app's lifetime, reading the mode of the last
  // render: a handler re-subscribed per render would hand keys typed right
  // after a mode change ("/" then "m") to the previous mode's handler.
  const latest = useRef({ mode, onCommand });
  latest.current = { mode, onCommand };
  const handle = useCallback((input: string, key: KeyPress) => {
    const c = keyToCommand(latest.current.mode, input, key);
    if (c !== null) latest.current.onCommand(c);
  }, []);
  useInput(handle);
  // Ink's Key has no function keys: F6 is recognized from the raw sequence.
  const { internal_eventEmitter: events } = useStdin();
  useEffect(() => {
    const onRaw = (data: string): void => {
      if (data === F6) handle(F6, NO_KEY);
    };
    events.on('input', onRaw);
    return () => {
      events.off('input', onRaw);
    };
  }, [events, handle]);
}
