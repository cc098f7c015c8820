package io.ringraft.testkit.sim;

import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.history.Operation;

import java.util.ArrayList;
import java.util.List;

/**
 * One client operation issued through a {@link SimClient}: pending until it completes as
 * {@link Operation.Status#OK OK}, {@link Operation.Status#FAIL FAIL} (definitely not applied) or
 * {@link Operation.Status#UNKNOWN UNKNOWN}. Wait for it with
 * {@code cluster.runUntil(op::isDone, timeoutMillis)}.
 */
public final class SimOp
{
    private final int opId;
    private final OpKind kind;
    private final String key;
    private final String value;
    private final String expected;
    private final boolean linearizableRead;
    private final boolean leaseRead;
    private final boolean followerRead;
    private final byte[] payload;
    private final long deadline;
    private final List<Runnable> listeners = new ArrayList<>(1);
    private Operation.Status status = Operation.Status.PENDING;
    private String result;
    private long index = -1;
    private long node;
    private boolean accepted;
    private int attempts;

    SimOp(final int opId, final OpKind kind, final String key, final String value, final String expected,
        final boolean linearizableRead, final boolean leaseRead, final boolean followerRead, final byte[] payload,
        final long deadline)
    {
        this.leaseRead = leaseRead;
        this.followerRead = followerRead;
        this.opId = opId;
        this.kind = kind;
        this.key = key;
        this.value = value;
        this.expected = expected;
        this.linearizableRead = linearizableRead;
        this.payload = payload;
        this.deadline = deadline;
    }

    /** @return the op id in the cluster's history */
    public int opId()
    {
        return opId;
    }

    /** @return what it does */
    public OpKind kind()
    {
        return kind;
    }

    /** @return the key */
    public String key()
    {
        return key;
    }

    /** @return the new value of a PUT or CAS, else null */
    public String value()
    {
        return value;
    }

    /** @return the expected value of a CAS, else null */
    public String expected()
    {
        return expected;
    }

    /** @return true for a GET served by ReadIndex (or a lease) rather than through the log */
    public boolean isLinearizableRead()
    {
        return linearizableRead;
    }

    /** @return true for a GET served by a leader lease when it holds */
    public boolean isLeaseRead()
    {
        return leaseRead;
    }

    /** @return true for a GET served by ReadIndex on a node other than the one the client takes for the leader */
    public boolean isFollowerRead()
    {
        return followerRead;
    }

    /** @return the status so far */
    public Operation.Status status()
    {
        return status;
    }

    /** @return true once it is no longer pending */
    public boolean isDone()
    {
        return status != Operation.Status.PENDING;
    }

    /** @return true if it completed OK */
    public boolean isOk()
    {
        return status == Operation.Status.OK;
    }

    /** @return the result of an OK GET (null = absent) or CAS ("true"/"false"), else null */
    public String result()
    {
        return result;
    }

    /** @return the log index of its last accepted attempt, or -1 */
    public long index()
    {
        return index;
    }

    /** @return the node that served its last attempt */
    public long node()
    {
        return node;
    }

    /** @return how many nodes it was sent to */
    public int attempts()
    {
        return attempts;
    }

    /** @return the simulated time after which the client gives up */
    public long deadline()
    {
        return deadline;
    }

    @Override
    public String toString()
    {
        return "op#" + opId + " " + kind + (leaseRead ? "(lease)" : followerRead ? "(followerRead)" :
            linearizableRead ? "(readIndex)" : "") + " " + key + " " + status +
            (result != null ? " -> " + result : "") + (index >= 0 ? " @" + index + " on N" + node : "");
    }

    byte[] payload()
    {
        return payload;
    }

    boolean accepted()
    {
        return accepted;
    }

    void attempt(final long node)
    {
        this.node = node;
        this.accepted = false;
        attempts++;
    }

    void accepted(final long index)
    {
        this.index = index;
        this.accepted = true;
    }

    void superseded()
    {
        this.accepted = false;
    }

    void whenDone(final Runnable listener)
    {
        if (isDone())
        {
            listener.run();
        }
        else
        {
            listeners.add(listener);
        }
    }

    void complete(final Operation.Status status, final String result)
    {
        this.status = status;
        this.result = result;
        for (final Runnable listener : listeners)
        {
            listener.run();
        }
        listeners.clear();
    }
}
