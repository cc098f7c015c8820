package io.ringraft.testkit.history;

/**
 * One client operation as recorded in a {@link History}: what was asked, when, and how it ended.
 *
 * @param id           the op id {@link History#invoke} returned, its position in the history
 * @param client       the client that ran it
 * @param kind         what it does
 * @param key          the key it acts on
 * @param value        the new value of a {@link OpKind#PUT} or {@link OpKind#CAS}, else {@code null}
 * @param expected     the expected value of a {@link OpKind#CAS} ({@code null} = absent), else {@code null}
 * @param result       for an {@link Status#OK} op: the value a {@link OpKind#GET} read ({@code null} = absent),
 *                     {@code "true"} or {@code "false"} for a {@link OpKind#CAS}; else {@code null}
 * @param invokeTime   when the client invoked it, in simulated nanoseconds
 * @param completeTime when the client learnt the outcome ({@link Status#OK} or {@link Status#FAIL});
 *                     {@link Long#MAX_VALUE} while {@link Status#PENDING} or when {@link Status#UNKNOWN}
 * @param status       how it ended
 */
public record Operation(
    int id,
    int client,
    OpKind kind,
    String key,
    String value,
    String expected,
    String result,
    long invokeTime,
    long completeTime,
    Status status)
{
    /**
     * How an operation ended, as far as its client knows.
     */
    public enum Status
    {
        /** Invoked, no outcome recorded yet; checked as {@link #UNKNOWN}. */
        PENDING,

        /** Completed with a result: it took effect once, between its invocation and completion. */
        OK,

        /** Definitely took no effect. */
        FAIL,

        /** May or may not have taken effect, at any time after its invocation. */
        UNKNOWN
    }

    /** The result of a {@link OpKind#CAS} that swapped. */
    public static final String CAS_TRUE = "true";

    /** The result of a {@link OpKind#CAS} that found another value and changed nothing. */
    public static final String CAS_FALSE = "false";

    /**
     * @return true if the op's completion time is known: it is {@link Status#OK} or {@link Status#FAIL}
     */
    public boolean isComplete()
    {
        return status == Status.OK || status == Status.FAIL;
    }

    /**
     * One line such as {@code #7 c2 CAS(k, "a" -> "b") -> true [120, 180] OK}; absent values print as {@code absent}.
     */
    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder(64).append('#').append(id).append(" c").append(client).append(' ');
        sb.append(kind).append('(').append(show(key));
        switch (kind)
        {
            case PUT -> sb.append(", ").append(show(value)).append(')');
            case CAS -> sb.append(", ").append(show(expected)).append(" -> ").append(show(value)).append(')');
            default -> sb.append(')');
        }
        if (status == Status.OK && (kind == OpKind.GET || kind == OpKind.CAS))
        {
            sb.append(" -> ").append(kind == OpKind.GET ? show(result) : result);
        }
        sb.append(" [").append(invokeTime).append(", ");
        sb.append(isComplete() ? Long.toString(completeTime) : "?").append("] ").append(status);
        return sb.toString();
    }

    static String show(final String value)
    {
        return value == null ? "absent" : '"' + value + '"';
    }
}
