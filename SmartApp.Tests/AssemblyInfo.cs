// End-to-end fixtures each start a dev host with its own emulators; one at a time keeps the
// 2-core machine responsive and the first run's emulator install single.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
