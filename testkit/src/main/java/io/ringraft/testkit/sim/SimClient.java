package io.ringraft.testkit.sim;

import io.ringraft.Vote;
import io.ringraft.engine.Role;
import io.ringraft.testkit.history.OpKind;
import io.ringraft.testkit.history.Operation;
import io.ringraft.testkit.kv.KvCommand;
import io.ringraft.statemachine.KvStateMachine;

/**
 * A simulated key-value client of a {@link SimCluster}. It sends each operation to the node it
 * believes is the leader, follows the leader hint of a refusal, retries elsewhere while the
 * operation is definitely not applied, and records every operation in the cluster's
 * {@link io.ringraft.testkit.history.History}:
 * <ul>
 *     <li>OK when the node that accepted it applies it at its index in the term it was written in
 *         (a ReadIndex read: when the node has applied the read index);</li>
 *     <li>FAIL when no attempt can have been applied (refused, or its index applied with another
 *         entry) by the deadline;</li>
 *     <li>UNKNOWN when the deadline passes or the node crashes while an attempt may still be
 *         applied.</li>
 * </ul>
 */
public final class SimClient
{
    private final SimCluster cluster;
    private final int id;
    private long timeoutNanos;
    private long leaderHint = Vote.NO_NODE;
    private long pinned = Vote.NO_NODE;
    private long ops;

    SimClient(final SimCluster cluster, final int id, final long timeoutNanos)
    {
        this.cluster = cluster;
        this.id = id;
        this.timeoutNanos = timeoutNanos;
    }

    /** @return the client id in the history */
    public int id()
    {
        return id;
    }

    /**
     * @param millis how long an operation may take before the client gives up on it
     * @return this
     */
    public SimClient timeoutMillis(final long millis)
    {
        this.timeoutNanos = millis * 1_000_000L;
        return this;
    }

    /**
     * @param node the node to send the next operation to, as if it had named itself leader
     * @return this
     */
    public SimClient target(final long node)
    {
        this.leaderHint = cluster.node(node).id();
        return this;
    }

    /**
     * Pins the client to one node: every operation goes there only, is never retried elsewhere, and
     * starts at once (in the caller's step); a refusal or a crash of the node ends it FAIL (or UNKNOWN
     * if it may still apply).
     *
     * @param node the node
     * @return this
     */
    SimClient pin(final long node)
    {
        this.pinned = node;
        this.leaderHint = node;
        return this;
    }

    /** @return the node the client sends to next, or {@link Vote#NO_NODE} if it has no idea */
    public long leaderHint()
    {
        return leaderHint;
    }

    /** @return how many operations it issued */
    public long opsIssued()
    {
        return ops;
    }

    /** @return a PUT of {@code value} at {@code key}, through the log */
    public SimOp put(final String key, final String value)
    {
        return start(OpKind.PUT, key, value, null, false, false, false);
    }

    /** @return a compare-and-set of {@code key} from {@code expected} (null = absent) to {@code value}, through the log */
    public SimOp cas(final String key, final String expected, final String value)
    {
        return start(OpKind.CAS, key, value, expected, false, false, false);
    }

    /** @return a DELETE of {@code key}, through the log */
    public SimOp delete(final String key)
    {
        return start(OpKind.DELETE, key, null, null, false, false, false);
    }

    /** @return a GET of {@code key} as a command through the log */
    public SimOp get(final String key)
    {
        return start(OpKind.GET, key, null, null, false, false, false);
    }

    /** @return a linearizable GET of {@code key} through ReadIndex, read from the serving node's state */
    public SimOp read(final String key)
    {
        return start(OpKind.GET, key, null, null, true, false, false);
    }

    /**
     * @return a linearizable GET of {@code key} through ReadIndex on a node other than the one the client
     *         takes for the leader (a follower, which asks the leader for the read index), read from that
     *         node's state once it has applied the index
     */
    public SimOp followerRead(final String key)
    {
        return start(OpKind.GET, key, null, null, true, false, true);
    }

    /** @return a linearizable GET of {@code key} served by the leader's lease when it holds, else through ReadIndex */
    public SimOp leaseRead(final String key)
    {
        return start(OpKind.GET, key, null, null, true, true, false);
    }

    private SimOp start(final OpKind kind, final String key, final String value, final String expected, final boolean readIndex,
        final boolean lease, final boolean follower)
    {
        final long now = cluster.nowNanos();
        final int opId = cluster.history().invoke(id, kind, key, value, expected, now);
        final byte[] payload = readIndex ? null : new KvCommand(kind, id, opId, key, value, expected).encode();
        final SimOp op = new SimOp(opId, kind, key, value, expected, readIndex, lease, follower, payload, now + timeoutNanos);
        ops++;
        cluster.trace(0, "client" + id + "-invoke", op.toString());
        if (pinned != Vote.NO_NODE)
        {
            cluster.schedule(op.deadline(), () -> expire(op));
            attempt(op);
            return op;
        }
        cluster.schedule(now, () -> attempt(op));
        cluster.schedule(op.deadline(), () -> expire(op));
        return op;
    }

    private void attempt(final SimOp op)
    {
        if (op.isDone())
        {
            return;
        }
        if (cluster.nowNanos() >= op.deadline())
        {
            expire(op);
            return;
        }
        final long target = pinned != Vote.NO_NODE ? pinned : op.isFollowerRead() ? notTheLeader() :
            leaderHint != Vote.NO_NODE ? leaderHint : 1 + cluster.random().nextInt(cluster.size());
        final SimNode node = cluster.node(target);
        op.attempt(target);
        if (!node.isUp())
        {
            leaderHint = Vote.NO_NODE;
            retryLater(op);
            return;
        }
        if (op.isLinearizableRead())
        {
            final SimNode.ReadCallback callback = new SimNode.ReadCallback()
            {
                @Override
                public void ready(final KvStateMachine stateMachine)
                {
                    if (!op.isDone() && node.role() != Role.LEADER)
                    {
                        cluster.onFollowerRead();
                    }
                    complete(op, Operation.Status.OK, stateMachine.get(op.key()));
                }

                @Override
                public void failed(final long leaderId)
                {
                    refused(op, target, leaderId);
                }
            };
            if (op.isLeaseRead())
            {
                node.leaseRead(callback, cluster.nowNanos());
            }
            else
            {
                node.readIndex(callback, cluster.nowNanos());
            }
            return;
        }
        final long index = node.submit(op.payload(), new SimNode.WriteCallback()
        {
            @Override
            public void applied(final long index, final String result)
            {
                if (!op.isDone())
                {
                    // A runtime tells the index only with the outcome.
                    op.accepted(index);
                }
                complete(op, Operation.Status.OK, result);
            }

            @Override
            public void superseded(final long index)
            {
                if (!op.isDone())
                {
                    cluster.trace(target, "client" + id + "-superseded", op.toString());
                    op.superseded();
                    retryLater(op);
                }
            }

            @Override
            public void unknown()
            {
                complete(op, Operation.Status.UNKNOWN, null);
            }
        }, cluster.nowNanos());
        if (index < 0)
        {
            refused(op, target, node.leaderId());
        }
        else
        {
            op.accepted(index);
            leaderHint = target;
        }
    }

    /** A node other than the leader the client knows (any node if there is no other): where a follower read goes. */
    private long notTheLeader()
    {
        final int size = cluster.size();
        if (leaderHint == Vote.NO_NODE || size == 1)
        {
            return 1 + cluster.random().nextInt(size);
        }
        return 1 + (leaderHint + cluster.random().nextInt(size - 1)) % size;
    }

    private void refused(final SimOp op, final long target, final long leaderId)
    {
        if (op.isDone())
        {
            return;
        }
        if (!op.isFollowerRead() || leaderId != Vote.NO_NODE)
        {
            leaderHint = leaderId != target ? leaderId : Vote.NO_NODE;
        }
        retryLater(op);
    }

    private void retryLater(final SimOp op)
    {
        if (pinned != Vote.NO_NODE)
        {
            // Never retried: definitely not applied (refused, superseded, or the node was down).
            complete(op, Operation.Status.FAIL, null);
            return;
        }
        final long delay = 1_000_000L + cluster.random().nextLong(9_000_000L);
        cluster.schedule(cluster.nowNanos() + delay, () -> attempt(op));
    }

    private void expire(final SimOp op)
    {
        if (op.isDone())
        {
            return;
        }
        // A read has no effect, so giving up on it is a definite failure; a write that a node accepted may still apply.
        complete(op, op.accepted() && !op.isLinearizableRead() ? Operation.Status.UNKNOWN : Operation.Status.FAIL, null);
    }

    private void complete(final SimOp op, final Operation.Status status, final String result)
    {
        if (op.isDone())
        {
            return;
        }
        final long now = cluster.nowNanos();
        switch (status)
        {
            case OK -> cluster.history().ok(op.opId(), result, now);
            case FAIL -> cluster.history().fail(op.opId(), now);
            default -> cluster.history().unknown(op.opId());
        }
        if (status != Operation.Status.OK)
        {
            leaderHint = Vote.NO_NODE;
        }
        op.complete(status, result);
        cluster.trace(op.node(), "client" + id + "-" + status, op.toString());
        if (status == Operation.Status.OK && !op.isLinearizableRead())
        {
            cluster.onAcknowledged(op);
        }
    }
}
