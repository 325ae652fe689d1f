export { generateCsv, phoneFor, type GeneratedFile } from "../../simulator/demo/sample-contacts";
