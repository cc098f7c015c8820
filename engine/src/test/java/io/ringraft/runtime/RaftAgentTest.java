package io.ringraft.runtime;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftAgent;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RaftAgentTest
{
    @Test
    void drivesAnInvokerNodeAndRefusesANodeWithThreads()
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        try (Raft invoker = start(network, 1, ThreadingMode.INVOKER); Raft shared = start(network, 2, ThreadingMode.SHARED))
        {
            assertTrue(invoker.isInvoker());
            assertFalse(shared.isInvoker());
            final RaftAgent agent = new RaftAgent(invoker);
            assertEquals("ringraft-node-1", agent.roleName());
            invoker.triggerElection();
            // A single voter elects itself once its duty cycle runs, and only the agent runs it here.
            for (int i = 0; i < 100_000 && !invoker.isLeader(); i++)
            {
                agent.doWork();
            }
            assertTrue(invoker.isLeader());
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new RaftAgent(shared)).getMessage().contains("threadingMode=INVOKER"));
        }
    }

    private static Raft start(final InJvmNetwork network, final long id, final ThreadingMode mode)
    {
        return Raft.start(new RaftConfig().nodeId(id).threadingMode(mode), new InMemoryLogStorage(), network.endpoint(id),
            new RecordingStateMachine(), Membership.of(id));
    }
}
