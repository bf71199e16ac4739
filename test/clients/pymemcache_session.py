"""One pymemcache session against a server; prints what each call returned, as JSON.

Run by test/clients-pymemcache.test.ts against real memcached and against slabcache:
the two outputs must be equal (CAS tokens are shown as 'cas' only when they work)."""
import json
import sys

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheServerError, MemcacheIllegalInputError

port = int(sys.argv[1])
c = Client(('127.0.0.1', port), connect_timeout=5, timeout=5)
out = []


def call(name, f):
    try:
        r = f()
        if isinstance(r, bytes):
            r = r.decode('latin1')
        if isinstance(r, dict):
            r = {(k.decode() if isinstance(k, bytes) else k): (v.decode('latin1') if isinstance(v, bytes) else v) for k, v in sorted(r.items())}
        out.append([name, r])
    except (MemcacheClientError, MemcacheServerError, MemcacheIllegalInputError) as e:
        out.append([name, type(e).__name__ + ': ' + str(e)])


call('set', lambda: c.set('a', 'hello', noreply=False))
call('get', lambda: c.get('a'))
call('get_many', lambda: c.get_many(['a', 'missing', 'a']))
call('add existing', lambda: c.add('a', 'x', noreply=False))
call('add new', lambda: c.add('b', 'bee', noreply=False))
call('replace missing', lambda: c.replace('zz', 'x', noreply=False))
call('replace', lambda: c.replace('b', 'BEE', noreply=False))
call('append', lambda: c.append('a', ' world', noreply=False))
call('prepend', lambda: c.prepend('a', '>> ', noreply=False))
call('get after append', lambda: c.get('a'))
value, cas = c.gets('a')
call('gets value', lambda: value)
call('cas good', lambda: c.cas('a', 'swapped', cas, noreply=False))
call('cas stale', lambda: c.cas('a', 'again', cas, noreply=False))
call('cas missing', lambda: c.cas('nope', 'x', b'123', noreply=False))
call('get after cas', lambda: c.get('a'))
call('set number', lambda: c.set('n', '10', noreply=False))
call('incr', lambda: c.incr('n', 5, noreply=False))
call('decr', lambda: c.decr('n', 100, noreply=False))
call('incr missing', lambda: c.incr('nn', 1, noreply=False))
call('incr non-numeric', lambda: c.incr('a', 1, noreply=False))
call('get padded', lambda: c.get('n'))
call('touch', lambda: c.touch('n', 100, noreply=False))
call('touch missing', lambda: c.touch('nothing', 100, noreply=False))
call('delete', lambda: c.delete('b', noreply=False))
call('delete missing', lambda: c.delete('b', noreply=False))
call('set flags', lambda: c.set('f', 'x' * 1000, expire=0, noreply=False))
call('get big', lambda: len(c.get('f')))
call('set many', lambda: c.set_many({'m1': '1', 'm2': '2', 'm3': '3'}, noreply=False))
call('get_many after', lambda: c.get_many(['m1', 'm2', 'm3']))
call('delete_many', lambda: c.delete_many(['m1', 'm2'], noreply=False))
call('key too long', lambda: c.set('k' * 251, 'x', noreply=False))
call('value too large', lambda: c.set('huge', 'x' * (2 * 1024 * 1024), noreply=False))
call('stats has curr_items', lambda: 'curr_items' in {k.decode() if isinstance(k, bytes) else k: v for k, v in c.stats().items()})
call('version starts with 1.6', lambda: c.version().decode().startswith('1.6'))
call('flush_all', lambda: c.flush_all(noreply=False))
call('get after flush', lambda: c.get('a'))
c.close()
print(json.dumps(out, indent=1))
