export * from "./schedules/mod.ts";
