package io.ringraft.testkit.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The record of client operations against the key-value store during one run, for
 * {@link LinearizabilityChecker}. Each op is invoked once and then ends at most once: ok, failed or unknown;
 * ops never ended stay {@link Operation.Status#PENDING} and are checked as unknown.
 * <p>
 * Times are the simulator's nanoseconds; calls need not arrive in time order. Not thread-safe.
 */
public final class History
{
    private static final Comparator<Operation> BY_TIME =
        Comparator.comparingLong(Operation::invokeTime).thenComparingInt(Operation::id);

    private final ArrayList<Operation> ops = new ArrayList<>();

    /**
     * Records an invocation.
     *
     * @param client    the client that invokes it
     * @param kind      what it does
     * @param key       the key it acts on, not {@code null}
     * @param value     the new value of a PUT or CAS ({@code null} is taken as absent); ignored for GET and DELETE
     * @param expected  the expected value of a CAS, {@code null} = key absent; ignored for other kinds
     * @param timeNanos when it was invoked
     * @return the op id, to pass to {@link #ok}, {@link #fail} or {@link #unknown}
     */
    public int invoke(
        final int client,
        final OpKind kind,
        final String key,
        final String value,
        final String expected,
        final long timeNanos)
    {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        final int id = ops.size();
        final String newValue = kind == OpKind.PUT || kind == OpKind.CAS ? value : null;
        final String expectedValue = kind == OpKind.CAS ? expected : null;
        ops.add(new Operation(
            id, client, kind, key, newValue, expectedValue, null, timeNanos, Long.MAX_VALUE, Operation.Status.PENDING));
        return id;
    }

    /**
     * Records that the op completed with a result.
     *
     * @param opId      an id from {@link #invoke} whose op is still pending
     * @param result    GET: the value read, {@code null} = absent; CAS: {@code "true"} or {@code "false"};
     *                  PUT and DELETE: ignored
     * @param timeNanos when the client learnt it, not before the invocation
     * @throws IllegalStateException    if the op already ended
     * @throws IllegalArgumentException if the time precedes the invocation or a CAS result is neither "true" nor "false"
     */
    public void ok(final int opId, final String result, final long timeNanos)
    {
        final Operation op = pending(opId, timeNanos);
        if (op.kind() == OpKind.CAS && !Operation.CAS_TRUE.equals(result) && !Operation.CAS_FALSE.equals(result))
        {
            throw new IllegalArgumentException("CAS result must be \"true\" or \"false\": " + result + " for " + op);
        }
        final String kept = op.kind() == OpKind.GET || op.kind() == OpKind.CAS ? result : null;
        ops.set(opId, end(op, kept, timeNanos, Operation.Status.OK));
    }

    /**
     * Records that the op definitely took no effect; the checker ignores it.
     *
     * @param opId      an id from {@link #invoke} whose op is still pending
     * @param timeNanos when the client learnt it, not before the invocation
     * @throws IllegalStateException if the op already ended
     */
    public void fail(final int opId, final long timeNanos)
    {
        final Operation op = pending(opId, timeNanos);
        ops.set(opId, end(op, null, timeNanos, Operation.Status.FAIL));
    }

    /**
     * Records that the outcome is unknown: the op may have taken effect at any time after its invocation,
     * or never. Ops left pending are checked the same way.
     *
     * @param opId an id from {@link #invoke} whose op is still pending
     * @throws IllegalStateException if the op already ended
     */
    public void unknown(final int opId)
    {
        final Operation op = pending(opId, Long.MAX_VALUE);
        ops.set(opId, end(op, null, Long.MAX_VALUE, Operation.Status.UNKNOWN));
    }

    /**
     * @return a snapshot of all ops, indexed by op id
     */
    public List<Operation> operations()
    {
        return List.copyOf(ops);
    }

    /**
     * @return the number of ops invoked
     */
    public int size()
    {
        return ops.size();
    }

    /**
     * @param key a key
     * @return the ops on that key, one per line, ordered by invocation time, for failure reports
     */
    public String describe(final String key)
    {
        final List<Operation> keyOps = new ArrayList<>();
        for (final Operation op : ops)
        {
            if (op.key().equals(key))
            {
                keyOps.add(op);
            }
        }
        return describe(key, keyOps);
    }

    /**
     * All ops, ordered by invocation time, one per line.
     */
    @Override
    public String toString()
    {
        final List<Operation> sorted = new ArrayList<>(ops);
        sorted.sort(BY_TIME);
        final StringBuilder sb = new StringBuilder(32 + 48 * sorted.size()).append("history of ").append(sorted.size())
            .append(" ops");
        for (final Operation op : sorted)
        {
            sb.append("\n  ").append(op);
        }
        return sb.toString();
    }

    static String describe(final String key, final List<Operation> keyOps)
    {
        final List<Operation> sorted = new ArrayList<>(keyOps);
        sorted.sort(BY_TIME);
        final StringBuilder sb = new StringBuilder(32 + 48 * sorted.size()).append("key ").append(Operation.show(key))
            .append(": ").append(sorted.size()).append(" ops");
        for (final Operation op : sorted)
        {
            sb.append("\n  ").append(op);
        }
        return sb.toString();
    }

    private Operation pending(final int opId, final long timeNanos)
    {
        if (opId < 0 || opId >= ops.size())
        {
            throw new IllegalArgumentException("no op with id " + opId);
        }
        final Operation op = ops.get(opId);
        if (op.status() != Operation.Status.PENDING)
        {
            throw new IllegalStateException("op already ended: " + op);
        }
        if (timeNanos < op.invokeTime())
        {
            throw new IllegalArgumentException("completion at " + timeNanos + " precedes invocation of " + op);
        }
        return op;
    }

    private static Operation end(final Operation op, final String result, final long time, final Operation.Status status)
    {
        return new Operation(
            op.id(), op.client(), op.kind(), op.key(), op.value(), op.expected(), result, op.invokeTime(), time, status);
    }
}
