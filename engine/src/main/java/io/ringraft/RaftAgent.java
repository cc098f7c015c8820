package io.ringraft;

import org.agrona.concurrent.Agent;

/**
 * A node started in {@link ThreadingMode#INVOKER} as an Agrona {@link Agent}, so that its whole duty cycle
 * ({@code RaftCore}, the state-machine worker, and a network that drives its own Aeron client and media driver)
 * composes with the node's other agents, such as a client ingress, on one thread:
 * {@code new AgentRunner(idle, errorHandler, null, new CompositeAgent(new RaftAgent(raft), ingress))}. That is the
 * layout for machines with few cores: one thread per node instead of one per agent, driver and conductor, and
 * no hand-off between threads on the way from a client's command to its reply.
 * <p>
 * {@link #onClose()} does not close the node: its owner closes it after the runner.
 */
public final class RaftAgent implements Agent
{
    private final Raft raft;

    /**
     * @param raft a node in {@link ThreadingMode#INVOKER}
     * @throws IllegalArgumentException if it has threads of its own
     */
    public RaftAgent(final Raft raft)
    {
        if (!raft.isInvoker())
        {
            throw new IllegalArgumentException("node " + raft.nodeId() + " is not in threadingMode=INVOKER: it runs its own threads");
        }
        this.raft = raft;
    }

    @Override
    public int doWork()
    {
        return raft.doWork();
    }

    @Override
    public String roleName()
    {
        return "ringraft-node-" + raft.nodeId();
    }
}
