import { addressKey, DeviceSignInSlots } from '../../../../gateway/src/protocols/ssh/device-limit';

describe('DeviceSignInSlots', () => {
  it('refuses beyond the per-address and the total bound, and gives a place back once', () => {
    const slots = new DeviceSignInSlots({ maxPending: 3, maxPendingPerAddress: 2 });
    const a1 = slots.acquire('10.0.0.1');
    const a2 = slots.acquire('::ffff:10.0.0.1');
    expect(slots.acquire('10.0.0.1')).toMatchObject({ code: 'GH_ERR_SSH_DEVICE_LIMIT', message: expect.stringContaining('maxPendingPerAddress') });
    const b1 = slots.acquire('10.0.0.2');
    expect(slots.acquire('10.0.0.3')).toMatchObject({ code: 'GH_ERR_SSH_DEVICE_LIMIT', message: expect.stringContaining('(listeners.ssh.deviceLogin.maxPending)') });
    expect(slots.pending).toBe(3);
    if (typeof a1 !== 'function' || typeof a2 !== 'function' || typeof b1 !== 'function') throw new Error('a place was refused');
    a1();
    a1(); // twice: given back once
    expect(slots.pending).toBe(2);
    expect(typeof slots.acquire('10.0.0.3')).toBe('function');
    expect(slots.acquire('10.0.0.4')).toMatchObject({ code: 'GH_ERR_SSH_DEVICE_LIMIT' });
  });
});

describe('addressKey', () => {
  it('counts an IPv6 client by its /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:ffff:0:0:9')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
