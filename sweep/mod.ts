export * from "./asha_pruner.ts";
export * from "./journal.ts";
export * from "./median_pruner.ts";
export * from "./pruner_callback.ts";
export * from "./search_space.ts";
export * from "./sweep.ts";
export * from "./sweep_report.ts";
