package io.ringraft.transport.aeron;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/** Base of the flyweights over a fixed block: a buffer, an offset and typed field access. */
abstract class BodyFlyweight<T extends BodyFlyweight<T>>
{
    MutableDirectBuffer buffer;
    int offset;

    /**
     * @param buffer the buffer holding (or to hold) the block
     * @param offset where the block starts
     * @return this
     */
    @SuppressWarnings("unchecked")
    public T wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return (T)this;
    }

    final long getLong(final int fieldOffset)
    {
        return buffer.getLong(offset + fieldOffset, LITTLE_ENDIAN);
    }

    final void putLong(final int fieldOffset, final long value)
    {
        buffer.putLong(offset + fieldOffset, value, LITTLE_ENDIAN);
    }

    final int getInt(final int fieldOffset)
    {
        return buffer.getInt(offset + fieldOffset, LITTLE_ENDIAN);
    }

    final void putInt(final int fieldOffset, final int value)
    {
        buffer.putInt(offset + fieldOffset, value, LITTLE_ENDIAN);
    }

    final int getShort(final int fieldOffset)
    {
        return buffer.getShort(offset + fieldOffset, LITTLE_ENDIAN) & 0xFFFF;
    }

    final void putShort(final int fieldOffset, final int value)
    {
        buffer.putShort(offset + fieldOffset, (short)value, LITTLE_ENDIAN);
    }

    final int getByte(final int fieldOffset)
    {
        return buffer.getByte(offset + fieldOffset) & 0xFF;
    }

    final void putByte(final int fieldOffset, final int value)
    {
        buffer.putByte(offset + fieldOffset, (byte)value);
    }

    static int flag(final boolean value, final int bit)
    {
        return value ? bit : 0;
    }
}
