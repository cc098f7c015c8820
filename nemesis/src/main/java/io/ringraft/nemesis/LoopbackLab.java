package io.ringraft.nemesis;

import java.util.List;
import java.util.Set;

/** Every node on 127.0.0.1: process faults only (kills and pauses), the network stays whole. */
final class LoopbackLab implements NetworkLab
{
    private final String why;

    LoopbackLab(final String why)
    {
        this.why = why;
    }

    @Override
    public String host(final long id)
    {
        return "127.0.0.1";
    }

    @Override
    public List<String> launchPrefix(final long id)
    {
        return List.of();
    }

    @Override
    public boolean canCut()
    {
        return false;
    }

    @Override
    public boolean canDropRandomly()
    {
        return false;
    }

    @Override
    public void apply(final Set<List<Long>> cuts, final int lossPercent)
    {
        if (!cuts.isEmpty() || lossPercent > 0)
        {
            throw new IllegalStateException("loopback cannot cut links or drop packets");
        }
    }

    @Override
    public String describe()
    {
        return "loopback, process faults only (" + why + ")";
    }

    @Override
    public void close()
    {
    }
}
