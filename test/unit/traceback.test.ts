// The runtime's printing rules, checked on the cases traceback.go spells out.
import test from 'ava';
import { resolveLayout } from '../../src/runtime/layout.ts';
import { isExportedRuntime, isSystemGoroutine, printedFuncName, showFrame } from '../../src/runtime/traceback.ts';

const layout = resolveLayout(26, undefined);
const NORMAL = 0;

test('exported runtime functions and methods on exported types are shown', (t) => {
  t.true(isExportedRuntime('runtime.Goexit'));
  t.true(isExportedRuntime('runtime.(*Frames).Next'));
  t.false(isExportedRuntime('runtime.gopark'));
  t.false(isExportedRuntime('runtime.(*mheap).alloc'));
  t.false(isExportedRuntime('runtime.(*lfstack).Push'), 'exported method on an unexported type');
  t.false(isExportedRuntime('main.Foo'));
});

test('showFrame hides runtime internals and wrappers, keeps linknamed sync frames', (t) => {
  t.false(showFrame('runtime.gopark', NORMAL, true, NORMAL, layout));
  t.false(showFrame('runtime.chanrecv1', NORMAL, false, NORMAL, layout));
  t.true(showFrame('sync.runtime_SemacquireMutex', NORMAL, true, NORMAL, layout));
  t.true(showFrame('main.main', NORMAL, false, NORMAL, layout));
  t.false(showFrame('nodot', NORMAL, false, NORMAL, layout), 'a name without a dot is hidden');
  // runtime.gopanic is shown in the middle of a trace, not as the first frame.
  t.true(showFrame('runtime.gopanic', layout.funcID.gopanic, false, NORMAL, layout));
  t.false(showFrame('runtime.gopanic', layout.funcID.gopanic, true, NORMAL, layout));
  // A wrapper is elided unless it called a panic function.
  t.false(showFrame('main.main.gowrap1', layout.funcID.wrapper, false, NORMAL, layout));
  t.true(showFrame('main.(*T).M', layout.funcID.wrapper, false, layout.funcID.gopanic, layout));
  t.true(showFrame('main.(*T).M', layout.funcID.wrapper, false, layout.funcID.sigpanic, layout));
});

test('printed names: generic shapes become [...], gopanic prints as panic', (t) => {
  t.is(printedFuncName('main.genericRecv[go.shape.int]'), 'main.genericRecv[...]');
  t.is(printedFuncName('main.(*List[go.shape.string]).Push'), 'main.(*List[...]).Push');
  t.is(printedFuncName('runtime.gopanic'), 'panic');
  t.is(printedFuncName('main.main'), 'main.main');
});

test('system goroutines: started in package runtime, except runtime.main', (t) => {
  t.true(isSystemGoroutine('runtime.bgsweep'));
  t.true(isSystemGoroutine('runtime.forcegchelper'));
  t.false(isSystemGoroutine('runtime.main'));
  t.false(isSystemGoroutine('main.worker'));
  t.false(isSystemGoroutine('net/http.(*Server).Serve'));
  t.false(isSystemGoroutine(null));
});
