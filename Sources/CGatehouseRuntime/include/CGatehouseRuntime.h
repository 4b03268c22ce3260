#ifndef C_GATEHOUSE_RUNTIME_H
#define C_GATEHOUSE_RUNTIME_H

/// The address of the Swift concurrency runtime's global enqueue hook
/// (`swift_task_enqueueGlobal_hook`). It is taken at link time, so it is found whether the runtime
/// is a shared library or linked into the binary (`--static-swift-stdlib`, where the symbol is not
/// exported and `dlsym` cannot see it).
void *_Nullable *_Nonnull gatehouse_task_enqueue_global_hook_slot(void);

#endif
