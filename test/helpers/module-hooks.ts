/**
 * The module-loading hooks of a TracingPolicy spec, shared by the compiler's unit test and the
 * in-VM test that loads real modules: the struct module of do_init_module and the load_info of
 * mod_sysfs_setup (called after the signature check).
 */
export const MODULE_HOOKS = `  kprobes:
  - call: "do_init_module"
    syscall: false
    args:
    - index: 0
      type: "module"
  - call: "mod_sysfs_setup"
    syscall: false
    args:
    - index: 1
      type: "load_info"
`;
