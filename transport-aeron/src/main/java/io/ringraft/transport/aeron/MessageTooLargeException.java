package io.ringraft.transport.aeron;

/**
 * A message does not fit the configured maximum message length. The sender must make smaller
 * batches or chunks; the network never splits a message.
 */
public final class MessageTooLargeException extends IllegalArgumentException
{
    private static final long serialVersionUID = 1L;

    /** The encoded length of the rejected message. */
    private final long length;
    /** The configured maximum message length. */
    private final int maxLength;

    /**
     * @param what      the message, described
     * @param length    its encoded length
     * @param maxLength the configured maximum
     */
    public MessageTooLargeException(final String what, final long length, final int maxLength)
    {
        super(what + " encodes to " + length + " bytes, more than maxMessageLength=" + maxLength +
            "; send smaller batches (see WireFormat.appendEntriesLength)");
        this.length = length;
        this.maxLength = maxLength;
    }

    /** @return the encoded length of the rejected message */
    public long length()
    {
        return length;
    }

    /** @return the configured maximum message length */
    public int maxLength()
    {
        return maxLength;
    }
}
