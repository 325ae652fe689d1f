export { generateCsv, phoneFor, type GeneratedFile } from "../../app/demo/sample-contacts";
