package io.ringraft.transport.aeron;

import org.agrona.MutableDirectBuffer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/** Flyweight over the 40-byte frame header; see the package documentation for the layout. */
public final class MessageHeaderFlyweight
{
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 2;
    static final int TYPE_OFFSET = 3;
    static final int BLOCK_LENGTH_OFFSET = 4;
    static final int FLAGS_OFFSET = 6;
    static final int BODY_LENGTH_OFFSET = 8;
    static final int CLUSTER_ID_OFFSET = 12;
    static final int SENDER_ID_OFFSET = 16;
    static final int RECEIVER_ID_OFFSET = 24;
    static final int TERM_OFFSET = 32;

    private MutableDirectBuffer buffer;
    private int offset;

    /**
     * @param buffer the buffer holding (or to hold) the header
     * @param offset where the header starts
     * @return this
     */
    public MessageHeaderFlyweight wrap(final MutableDirectBuffer buffer, final int offset)
    {
        this.buffer = buffer;
        this.offset = offset;
        return this;
    }

    /** @return the magic number, {@link WireFormat#MAGIC} in a ringraft frame */
    public int magic()
    {
        return buffer.getShort(offset + MAGIC_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
    }

    /** @return the protocol version */
    public int version()
    {
        return buffer.getByte(offset + VERSION_OFFSET) & 0xFF;
    }

    /** @return the message type code */
    public int type()
    {
        return buffer.getByte(offset + TYPE_OFFSET) & 0xFF;
    }

    /** @return the length of the body's fixed block */
    public int blockLength()
    {
        return buffer.getShort(offset + BLOCK_LENGTH_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
    }

    /** @return the header flags, {@link WireFormat#FLAG_AUTHENTICATED} */
    public int flags()
    {
        return buffer.getShort(offset + FLAGS_OFFSET, LITTLE_ENDIAN) & 0xFFFF;
    }

    /** @return the length of the body after the header */
    public int bodyLength()
    {
        return buffer.getInt(offset + BODY_LENGTH_OFFSET, LITTLE_ENDIAN);
    }

    /** @return the cluster id */
    public int clusterId()
    {
        return buffer.getInt(offset + CLUSTER_ID_OFFSET, LITTLE_ENDIAN);
    }

    /** @return the sending node */
    public long senderId()
    {
        return buffer.getLong(offset + SENDER_ID_OFFSET, LITTLE_ENDIAN);
    }

    /** @return the receiving node */
    public long receiverId()
    {
        return buffer.getLong(offset + RECEIVER_ID_OFFSET, LITTLE_ENDIAN);
    }

    /** @return the sender's term */
    public long term()
    {
        return buffer.getLong(offset + TERM_OFFSET, LITTLE_ENDIAN);
    }

    /**
     * Writes a whole header with the current magic and version.
     *
     * @param type the value that {@link #type()} reads back
     * @param blockLength the value that {@link #blockLength()} reads back
     * @param bodyLength the value that {@link #bodyLength()} reads back
     * @param clusterId the value that {@link #clusterId()} reads back
     * @param senderId the value that {@link #senderId()} reads back
     * @param receiverId the value that {@link #receiverId()} reads back
     * @param term the value that {@link #term()} reads back
     * @return this
     */
    public MessageHeaderFlyweight write(
        final int type, final int blockLength, final int bodyLength, final int clusterId,
        final long senderId, final long receiverId, final long term)
    {
        return write(type, 0, blockLength, bodyLength, clusterId, senderId, receiverId, term);
    }

    /**
     * Writes a whole header with the current magic and version.
     *
     * @param type the value that {@link #type()} reads back
     * @param flags the value that {@link #flags()} reads back
     * @param blockLength the value that {@link #blockLength()} reads back
     * @param bodyLength the value that {@link #bodyLength()} reads back
     * @param clusterId the value that {@link #clusterId()} reads back
     * @param senderId the value that {@link #senderId()} reads back
     * @param receiverId the value that {@link #receiverId()} reads back
     * @param term the value that {@link #term()} reads back
     * @return this
     */
    public MessageHeaderFlyweight write(
        final int type, final int flags, final int blockLength, final int bodyLength, final int clusterId,
        final long senderId, final long receiverId, final long term)
    {
        buffer.putShort(offset + MAGIC_OFFSET, (short)WireFormat.MAGIC, LITTLE_ENDIAN);
        buffer.putByte(offset + VERSION_OFFSET, (byte)WireFormat.VERSION);
        buffer.putByte(offset + TYPE_OFFSET, (byte)type);
        buffer.putShort(offset + BLOCK_LENGTH_OFFSET, (short)blockLength, LITTLE_ENDIAN);
        buffer.putShort(offset + FLAGS_OFFSET, (short)flags, LITTLE_ENDIAN);
        buffer.putInt(offset + BODY_LENGTH_OFFSET, bodyLength, LITTLE_ENDIAN);
        buffer.putInt(offset + CLUSTER_ID_OFFSET, clusterId, LITTLE_ENDIAN);
        buffer.putLong(offset + SENDER_ID_OFFSET, senderId, LITTLE_ENDIAN);
        buffer.putLong(offset + RECEIVER_ID_OFFSET, receiverId, LITTLE_ENDIAN);
        buffer.putLong(offset + TERM_OFFSET, term, LITTLE_ENDIAN);
        return this;
    }
}
