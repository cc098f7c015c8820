package io.ringraft.runtime;

import org.agrona.ExpandableArrayBuffer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the memory a ring's slots hold for payloads. Each slot keeps a buffer of at most
 * {@code slotBytes} (it grows to that and is reused: no allocation for payloads up to it); a
 * larger payload must first reserve its length from a budget shared by the ring's slots, and the
 * slot gives its grown buffer up once the payload is consumed. A ring of {@code n} slots thus holds
 * at most {@code n * slotBytes + maxBytes} bytes of payloads, whatever the payloads' sizes.
 */
final class PayloadBudget
{
    private final int slotBytes;
    private final long maxBytes;
    private final AtomicLong used = new AtomicLong();

    PayloadBudget(final int slotBytes, final long maxBytes)
    {
        this.slotBytes = slotBytes;
        this.maxBytes = maxBytes;
    }

    /**
     * @param length a payload's length
     * @return true if a slot may take it now: it fits a slot's own buffer, or its length was reserved
     */
    boolean tryReserve(final int length)
    {
        if (length <= slotBytes)
        {
            return true;
        }
        long current;
        do
        {
            current = used.get();
            if (current + length > maxBytes)
            {
                return false;
            }
        }
        while (!used.compareAndSet(current, current + length));
        return true;
    }

    /** A reservation that {@link #tryReserve} made is not used after all. */
    void cancel(final int length)
    {
        if (length > slotBytes)
        {
            used.addAndGet(-length);
        }
    }

    /**
     * The payload of {@code length} in {@code buffer} was consumed: returns its reservation.
     *
     * @return the buffer the slot keeps: {@code buffer}, or a new small one if it grew beyond {@code slotBytes}
     */
    ExpandableArrayBuffer release(final ExpandableArrayBuffer buffer, final int length)
    {
        if (length > slotBytes)
        {
            used.addAndGet(-length);
        }
        return buffer.capacity() > slotBytes ? new ExpandableArrayBuffer(Math.min(128, slotBytes)) : buffer;
    }

    /** @return the bytes reserved now */
    long used()
    {
        return used.get();
    }
}
