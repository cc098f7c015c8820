package io.ringraft;

/** What a log entry carries. The code is what storage and the wire record. */
public enum EntryType
{
    /** An application command, applied to the state machine. */
    NORMAL((byte)1),
    /** The entry a new leader appends to commit the entries of earlier terms (Raft §8). */
    BLANK((byte)2),
    /** A cluster configuration; takes effect when appended, as in Raft §6. */
    MEMBERSHIP((byte)3);

    private static final EntryType[] BY_CODE = {null, NORMAL, BLANK, MEMBERSHIP};

    private final byte code;

    EntryType(final byte code)
    {
        this.code = code;
    }

    /** @return the stable code written to storage and the wire */
    public byte code()
    {
        return code;
    }

    /**
     * @param code a type code
     * @return true if this version knows the code
     */
    public static boolean isKnown(final int code)
    {
        return code > 0 && code < BY_CODE.length;
    }

    /**
     * @param code a code from {@link #code()}
     * @return the type with that code
     * @throws IllegalArgumentException for an unknown code
     */
    public static EntryType fromCode(final int code)
    {
        if (code <= 0 || code >= BY_CODE.length)
        {
            throw new IllegalArgumentException("unknown entry type code: " + code);
        }
        return BY_CODE[code];
    }
}
