package io.ringraft.transport.aeron;

import io.ringraft.testkit.conformance.RaftNetworkConformance;

/**
 * The {@link RaftNetworkConformance} suite with every node in invoker mode: no driver or client
 * thread, all of Aeron's work done in the test thread through {@link AeronRaftNetwork#doWork()}.
 */
class AeronInvokerConformanceTest extends AeronRaftNetworkConformanceTest
{
    @Override
    boolean invoker()
    {
        return true;
    }

    @Override
    protected void drive(final Endpoints endpoints)
    {
        for (final long node : new long[]{1, 2, 3})
        {
            final AeronRaftNetwork network = (AeronRaftNetwork)endpoints.endpoint(node);
            if (network != null)
            {
                network.doWork();
            }
        }
    }
}
